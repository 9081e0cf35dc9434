"""WordPress over its REST API (``wp/v2``): models, transport, discovery and the client.

Everything speaks through an ``httpx.Client`` that is passed in, so tests swap the transport.
"""

from pipeline.wordpress.client import WordPressClient
from pipeline.wordpress.discovery import ApiRoot, require_secure
from pipeline.wordpress.models import PostFields, RemoteMedia, RemotePost
from pipeline.wordpress.transport import make_auth, make_http_client

__all__ = [
    "ApiRoot",
    "PostFields",
    "RemoteMedia",
    "RemotePost",
    "WordPressClient",
    "make_auth",
    "make_http_client",
    "require_secure",
]
