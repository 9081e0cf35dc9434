"""Images in the site's media library, found again by the key each upload carries.

Every upload is given the slug ``pipeline-sha256-<content hash>`` (WordPress keeps the slug it is
given on upload). So the media library itself says which images are there already: the publisher
looks an image up by its key before uploading it (a lost or rebuilt state, a second site folder
or an upload whose answer was lost never leaves a second copy), and ``pipeline status
--rebuild`` recovers the media table from it.

Images brought in by ``pipeline import`` were uploaded by the writer, without our key: the import
records them from the post that uses them; a rebuild finds them again by downloading the images
the rebuilt posts show on WordPress and comparing contents.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct

from pipeline.core.posts import Image, Post
from pipeline.errors import PipelineError

if TYPE_CHECKING:
    from pipeline.store import Store
    from pipeline.wordpress import RemotePost, WordPressClient

KEY_PREFIX = "pipeline-sha256-"


def media_key(digest: str) -> str:
    """The slug an upload of content with this SHA-256 (hex) is given."""
    return f"{KEY_PREFIX}{digest}"


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Recovered(Struct, frozen=True):
    path: Path
    wp_id: int
    url: str
    how: str  # "by its key" | "by its content"

    def describe(self, posts_dir: Path) -> str:
        try:
            shown = self.path.relative_to(posts_dir.resolve()).as_posix()
        except ValueError:
            shown = str(self.path)
        return f"{shown}: media {self.wp_id} {self.url} (found {self.how})"


def recover(
    store: Store,
    wordpress: WordPressClient,
    posts: Sequence[Post],
    remote: Mapping[str, RemotePost],
    site_url: str,
) -> list[Recovered]:
    """Put back into the media table the images of ``posts`` that are on WordPress already.

    First by key (one request per 100 images); then the images still unknown of the posts found
    on WordPress (``remote``, by slug) by their content: the site's images each such post shows
    are downloaded and compared (the images an import adopted carry no key).
    """
    hashes = {i.path: file_hash(i.path) for i in _images(posts) if i.path.is_file()}
    missing = {path: digest for path, digest in hashes.items() if store.media(digest) is None}
    found = wordpress.find_media([media_key(d) for d in dict.fromkeys(missing.values())])
    recovered: list[Recovered] = []
    for path, digest in missing.items():
        media = found.get(media_key(digest))
        if media is not None and store.media(digest) is None:
            store.save_media(digest, media.id, media.source_url, path.name)
            recovered.append(Recovered(path, media.id, media.source_url, "by its key"))
    for post in posts:
        wanted = {
            hashes[i.path]: i.path
            for i in _images([post])
            if i.path in hashes and store.media(hashes[i.path]) is None
        }
        if wanted and post.slug in remote:
            recovered += _by_content(store, wordpress, remote[post.slug], wanted, site_url)
    return recovered


def _by_content(
    store: Store,
    wordpress: WordPressClient,
    remote: RemotePost,
    wanted: Mapping[str, Path],
    site_url: str,
) -> list[Recovered]:
    # Here, not at the top: the importer's module brings BeautifulSoup (~140 ms), and the
    # publisher imports this module for media_key.
    from pipeline.core.importing import image_sources, is_site_upload, media_ids

    ids = media_ids(remote.content_raw)
    urls = [url for url in image_sources(remote.content_raw) if is_site_upload(url, site_url)]
    if remote.featured_media:
        featured = wordpress.get_media(remote.featured_media)
        if featured is not None:
            ids.setdefault(featured.source_url, featured.id)
            urls.append(featured.source_url)
    recovered = []
    for url in dict.fromkeys(urls):
        try:
            digest = hashlib.sha256(wordpress.download(url)).hexdigest()
        except PipelineError:
            continue  # not reachable now: that image stays unknown
        path = wanted.get(digest)
        if path is not None and store.media(digest) is None:
            store.save_media(digest, ids.get(url, 0), url, path.name)
            recovered.append(Recovered(path, ids.get(url, 0), url, "by its content"))
    return recovered


def _images(posts: Iterable[Post]) -> list[Image]:
    return [
        image
        for post in posts
        for image in (*post.images, *([post.featured_image] if post.featured_image else []))
    ]
