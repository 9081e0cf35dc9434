"""Shared fixtures. The local WordPress and the fakes of X, Bluesky and Mastodon live in their
own modules."""

pytest_plugins = ["tests.wp_local", "tests.fakex", "tests.fakebsky", "tests.fakemastodon"]
