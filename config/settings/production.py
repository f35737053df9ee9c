"""Production: every secret must come from the environment, and HTTPS is assumed."""

import os

from config.env import ImproperlyConfiguredEnv, env_bool, env_int
from config.settings.base import *  # noqa: F403

if "DJANGO_SECRET_KEY" not in os.environ:
    raise ImproperlyConfiguredEnv("DJANGO_SECRET_KEY must be set in production")
DEBUG = False
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0, minimum=0)
