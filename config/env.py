"""The one reader of environment variables.

Every setting that can change between machines is read here, so a malformed value fails loudly at
start-up ("ROLLCALL_DEBUG must be true or false, got 'yes please'") instead of half-working later.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse


class ImproperlyConfiguredEnv(Exception):
    """An environment variable is present but its value cannot be used."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = _raw(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(f"{name} must be true or false, got {raw!r}")


def _raw(name: str) -> str | None:
    """The variable's value, or None when it is unset or blank (``FOO=`` in an env file)."""
    raw = os.environ.get(name)
    return None if raw is None or not raw.strip() else raw.strip()


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfiguredEnv(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(name: str, default: float) -> float:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name} must be a number, got {raw!r}") from None


_RATE = re.compile(r"^[1-9][0-9]*/(sec|second|min|minute|hour|day)$")


def env_rate(name: str, default: str) -> str:
    """A request rate as DRF reads it: ``30/min``, ``1000/day``."""
    raw = _raw(name)
    if raw is None:
        return default
    if not _RATE.match(raw):
        raise ImproperlyConfiguredEnv(
            f"{name} must be a count per sec, min, hour or day (e.g. 30/min), got {raw!r}"
        )
    return raw


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    raw = _raw(name)
    return Path(raw).expanduser().resolve() if raw else default


def parse_database_url(url: str) -> dict:
    """Turn ``sqlite:///path`` or ``postgres://user:pw@host:port/name`` into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative.db and sqlite:////absolute/path.db, as dj-database-url reads them.
        name = parsed.path[1:] if parsed.path.startswith("/") else parsed.path
        if not name:
            raise ImproperlyConfiguredEnv(f"DATABASE_URL has no file name: {url!r}")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name}
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        name = unquote(parsed.path.lstrip("/"))
        if not name:
            raise ImproperlyConfiguredEnv(f"DATABASE_URL names no database: {url!r}")
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        # A database that cannot be reached must not hold a request (or a worker) for the
        # system's TCP timeout of minutes: give up connecting after a few seconds (pages then
        # answer 503, attendance.views.errors). ``?connect_timeout=`` in the URL overrides it.
        options.setdefault("connect_timeout", "3")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
            # A kept connection is checked before a request uses it: after the database
            # restarts, the first request reconnects instead of failing on the dead one.
            "CONN_HEALTH_CHECKS": True,
        }
    raise ImproperlyConfiguredEnv(
        f"DATABASE_URL must start with sqlite:// or postgres://, got {parsed.scheme!r}"
    )


def env_database(name: str, default: str) -> dict:
    return parse_database_url(_raw(name) or default)


def parse_cache_url(url: str) -> dict:
    """``redis://host:port/db`` -> a Redis cache every web and worker process shares; blank or
    ``locmem://`` -> memory of this process only (a laptop, tests)."""
    scheme = urlparse(url).scheme
    if not url or scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if scheme in {"redis", "rediss"}:
        # Short timeouts: the cache is an optimisation, and a request must not hang on a Redis
        # that is down or unreachable (attendance.caching falls back to computing).
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    raise ImproperlyConfiguredEnv(
        f"ROLLCALL_CACHE_URL must start with redis://, rediss:// or locmem://, got {scheme!r}"
    )


def env_cache(name: str, default: str = "") -> dict:
    return parse_cache_url(_raw(name) or default)


def parse_storage_url(url: str, *, location: Path) -> dict:
    """Where private media (photos, crops) live, as a STORAGES entry.

    - blank -> files under ``location`` (ROLLCALL_PRIVATE_MEDIA_ROOT), the default of `make run`;
    - ``file:///srv/rollcall/private`` -> files under that folder;
    - ``s3://KEY:SECRET@HOST:PORT/BUCKET?region=us-east-1&secure=false`` -> a private bucket on
      S3-compatible storage (MinIO, AWS S3, ...). ``secure=false`` speaks plain HTTP (a MinIO on
      the same private network); ``addressing=virtual`` for providers that need bucket host
      names. Without a host (``s3:///BUCKET``) AWS's own endpoint and credential chain are used.
    """
    parsed = urlparse(url)
    if not url or parsed.scheme == "file":
        folder = Path(unquote(parsed.path)) if url and parsed.path else location
        return {
            "BACKEND": "attendance.storage.PrivateFileSystemStorage",
            "OPTIONS": {"location": folder, "base_url": None},
        }
    if parsed.scheme != "s3":
        raise ImproperlyConfiguredEnv(
            f"ROLLCALL_STORAGE_URL must start with s3:// or file://, got {parsed.scheme!r}"
        )
    bucket = unquote(parsed.path.strip("/"))
    if not bucket or "/" in bucket:
        raise ImproperlyConfiguredEnv(f"ROLLCALL_STORAGE_URL names no bucket: {url!r}")
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    unknown = set(query) - {"region", "secure", "addressing"}
    if unknown:
        raise ImproperlyConfiguredEnv(
            f"ROLLCALL_STORAGE_URL has unknown options {sorted(unknown)}; "
            "it takes region, secure and addressing"
        )
    scheme = "http" if query.get("secure", "true").lower() in _FALSE else "https"
    options: dict = {"bucket_name": bucket, "region_name": query.get("region") or None}
    if parsed.hostname:
        port = f":{parsed.port}" if parsed.port else ""
        options["endpoint_url"] = f"{scheme}://{parsed.hostname}{port}"
    if parsed.username:
        options["access_key"] = unquote(parsed.username)
        options["secret_key"] = unquote(parsed.password or "")
    options["addressing_style"] = query.get("addressing", "path")
    return {"BACKEND": "attendance.storage.PrivateS3Storage", "OPTIONS": options}


def env_storage(name: str, *, location: Path) -> dict:
    """ROLLCALL_STORAGE_URL, else the AWS_* variables (AWS_STORAGE_BUCKET_NAME and, optionally,
    AWS_S3_ENDPOINT_URL, AWS_S3_REGION_NAME, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), else
    files under ``location``."""
    url = _raw(name)
    if url:
        return parse_storage_url(url, location=location)
    bucket = env_str("AWS_STORAGE_BUCKET_NAME", "").strip()
    if not bucket:
        return parse_storage_url("", location=location)
    options = {
        "bucket_name": bucket,
        "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "").strip() or None,
        "region_name": env_str("AWS_S3_REGION_NAME", "").strip() or None,
        # Blank keys: boto3's own chain (an instance role, ~/.aws) supplies them.
        "access_key": env_str("AWS_ACCESS_KEY_ID", "").strip() or None,
        "secret_key": env_str("AWS_SECRET_ACCESS_KEY", "").strip() or None,
        "addressing_style": "path" if env_str("AWS_S3_ENDPOINT_URL", "").strip() else None,
    }
    return {"BACKEND": "attendance.storage.PrivateS3Storage", "OPTIONS": options}
