"""Mute a library's logger while its failures are reported as one typed error instead."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def muted(name: str) -> Iterator[None]:
    """aiokafka logs "Unable connect to ..." before raising; the caller reports the raise."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
