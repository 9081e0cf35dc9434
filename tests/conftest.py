"""Shared fixtures. The local WordPress and the fake X API live in their own modules."""

pytest_plugins = ["tests.wp_local", "tests.fakex", "tests.memwp"]
