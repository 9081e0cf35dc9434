"""Whether the site's Jetpack Social would share new posts on X by itself (pure: reads answers).

A site with Jetpack Social announces each new post on its connected networks; with the
pipeline's own announcement that makes two. What the site exposes, after the publicize package
of github.com/Automattic/jetpack (projects/packages/publicize, 2026):

- its REST index lists the route ``/wpcom/v2/publicize/connections`` (on WordPress.com, the
  same under ``public-api.wordpress.com/wpcom/v2/sites/SITE``);
- GET on that route, as a user who may publish, lists the connections: ``service_name`` is
  ``"x"`` (``"twitter"`` before the rename), with ``display_name``, ``external_handle`` and a
  ``status`` of ``"ok"``, ``"broken"``, ``"must_reauth"`` or null;
- per post, the meta key ``jetpack_publicize_feature_enabled`` (default true) switches sharing
  off for that post, and the field ``jetpack_publicize_connections`` lists each connection's
  ``enabled``.
"""

from __future__ import annotations

from collections.abc import Mapping

PUBLICIZE_ROUTE = "/wpcom/v2/publicize/connections"
X_SERVICES = ("x", "twitter")
DEAD = ("broken", "must_reauth")
# Set in a post's "meta" to keep Jetpack Social from sharing that post.
SHARING_META = "jetpack_publicize_feature_enabled"


def has_publicize(index: object) -> bool:
    """Whether a REST index (``GET /wp-json/``) offers Jetpack Social's connections route."""
    routes = index.get("routes") if isinstance(index, Mapping) else None
    return isinstance(routes, Mapping) and any(
        str(route).endswith("/publicize/connections") for route in routes
    )


def x_accounts(connections: object) -> tuple[str, ...]:
    """The X accounts that Jetpack Social would share new posts to (working connections)."""
    if not isinstance(connections, list):
        return ()
    found = []
    for item in connections:
        if not isinstance(item, Mapping) or item.get("service_name") not in X_SERVICES:
            continue
        if item.get("status") in DEAD:
            continue
        handle = item.get("external_handle")
        found.append(
            f"@{str(handle).lstrip('@')}" if handle else str(item.get("display_name") or "X")
        )
    return tuple(found)


def double_announcement_warning(accounts: tuple[str, ...]) -> str:
    """For ``pipeline check --online``: the problem and the two ways out."""
    who = ", ".join(accounts)
    return (
        f"Jetpack Social on this site also shares new posts to X ({who}): each post would be "
        "announced twice. Switch one off: disconnect X under Jetpack > Social in WordPress, or "
        "stop the pipeline's own X announcements (remove the [x] keys from credentials.toml and "
        "the login in the state folder's tokens/x.json, or set announce: false per post)"
    )
