"""Reading a site's Jetpack Social connections (the answers' shapes are Jetpack's own)."""

from __future__ import annotations

from pipeline.core.jetpack import double_announcement_warning, has_publicize, x_accounts

CONNECTIONS = [
    {
        "connection_id": "26547180",
        "display_name": "A Writer",
        "external_handle": "writer",
        "service_name": "x",
        "service_label": "X",
        "shared": True,
        "status": "ok",
    },
    {"connection_id": "2", "external_handle": "writer.bsky.social", "service_name": "bluesky"},
    {
        "connection_id": "3",
        "display_name": "Old account",
        "service_name": "twitter",
        "status": None,
    },
    {"connection_id": "4", "external_handle": "gone", "service_name": "x", "status": "broken"},
]


def test_the_index_shows_jetpack_social() -> None:
    index = {"namespaces": ["wp/v2", "wpcom/v2"], "routes": {"/wpcom/v2/publicize/connections": {}}}
    assert has_publicize(index)
    assert not has_publicize({"namespaces": ["wp/v2"], "routes": {"/wp/v2/posts": {}}})
    assert not has_publicize("not an index")


def test_working_x_connections_are_found() -> None:
    assert x_accounts(CONNECTIONS) == ("@writer", "Old account")
    assert x_accounts([]) == ()
    assert x_accounts({"code": "rest_forbidden"}) == ()


def test_the_warning_names_the_accounts_and_the_ways_out() -> None:
    warning = double_announcement_warning(("@writer",))
    assert "(@writer)" in warning
    assert "announced twice" in warning
    assert "Jetpack > Social" in warning
    assert "credentials.toml" in warning
    assert "tokens/x.json" in warning
