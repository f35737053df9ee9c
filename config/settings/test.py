"""pytest: the database comes from DATABASE_URL (PostgreSQL in CI, see the Makefile)."""

import tempfile
from pathlib import Path

from config.settings.base import *  # noqa: F403
from config.settings.base import STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Each test run writes photos into its own folder so that a run never sees another's files.
PRIVATE_MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="rollcall-test-media-"))
if STORAGES["private"]["BACKEND"].endswith("FileSystemStorage"):
    for _alias in ("default", "private"):
        STORAGES[_alias]["OPTIONS"]["location"] = PRIVATE_MEDIA_ROOT
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# Serve static files straight from the source folders; collectstatic is for production.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# One process runs the whole suite against one in-memory cache: rates that no test reaches by
# accident. tests/api/test_throttling.py sets tiny ones to test them.
ROLLCALL_API_RATES = {"anon": "100000/min", "user": "100000/min", "uploads": "100000/min"}

# A send to a dead broker fails on its first refused connection instead of after kombu's 2 s
# retry sleep (production keeps it): a dozen outage tests wait it out otherwise. The real Redis on
# 127.0.0.1 never refuses, so no other test changes.
if "socket_connect_timeout" in CELERY_BROKER_TRANSPORT_OPTIONS:  # noqa: F405
    CELERY_BROKER_TRANSPORT_OPTIONS["max_retries"] = 0  # noqa: F405
