"""pipeline: publish Markdown posts to WordPress, announce them on X, backfill series links."""

__version__ = "0.1.0"
