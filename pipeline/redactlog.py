"""The one redactor (:mod:`pipeline.redact`) in logging: a formatter and a filter that mask
every record. Apart from the redactor so that the commands that log nothing (``status``,
``log``) need not import ``logging``."""

from __future__ import annotations

import logging
from collections.abc import Callable

from pipeline.redact import NO_SECRETS, Redactor


class RedactingFormatter(logging.Formatter):
    """A log formatter whose lines, tracebacks included, never show a secret."""

    def __init__(self, redact: Callable[[str], str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class RedactingFilter(logging.Filter):
    """For loggers of libraries that log credentials (tweepy logs the bearer header, oauthlib the
    keys): the record's message is masked before any handler sees it."""

    def __init__(self, redactor: Redactor = NO_SECRETS) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.redactor(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
