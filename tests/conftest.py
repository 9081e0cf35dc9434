"""Shared fixtures. The local WordPress, the in-memory WordPress and the fakes of X, Bluesky and
Mastodon live in their own modules."""

pytest_plugins = [
    "tests.wp_local",
    "tests.memwp",
    "tests.fakex",
    "tests.fakebsky",
    "tests.fakemastodon",
]
