"""The cache as an optimisation only: when its Redis is unreachable, callers compute instead.

A failure is logged once per outage (not once per request), and again after the cache has
answered in between.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)

try:
    from redis.exceptions import RedisError

    CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)
except ImportError:  # pragma: no cover - redis is in requirements.txt
    CACHE_ERRORS = (OSError,)

_down = False


def cache_get(key: str) -> Any:
    """The cached value, or None when it is missing or the cache cannot be reached."""
    try:
        value = cache.get(key)
    except CACHE_ERRORS as error:
        _unavailable(error)
        return None
    _available()
    return value


def cache_set(key: str, value: Any, timeout: float) -> None:
    try:
        cache.set(key, value, timeout)
    except CACHE_ERRORS as error:
        _unavailable(error)


def _unavailable(error: BaseException) -> None:
    global _down
    if not _down:
        logger.warning("the cache is unreachable, computing without it: %s", error)
    _down = True


def _available() -> None:
    global _down
    if _down:
        logger.info("the cache answers again")
    _down = False
