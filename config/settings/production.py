"""Production: every secret must come from the environment, and HTTPS is assumed (a TLS proxy in
front sets X-Forwarded-Proto). ``manage.py check --deploy`` is clean with the compose file's
environment; tests/test_config.py runs it."""

import os

from config.env import ImproperlyConfiguredEnv, env_bool, env_int
from config.settings.base import *  # noqa: F403

if "DJANGO_SECRET_KEY" not in os.environ:
    raise ImproperlyConfiguredEnv("DJANGO_SECRET_KEY must be set in production")
DEBUG = False
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# With secure cookies the site is HTTPS-only, so browsers are told to stay on HTTPS (HSTS, a
# year by default) and plain-HTTP requests are redirected. Without them (a plain-HTTP trial),
# neither is sent: HSTS would lock browsers out of the HTTP site for its whole lifetime.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", SESSION_COOKIE_SECURE)
SECURE_HSTS_SECONDS = env_int(
    "DJANGO_HSTS_SECONDS", 365 * 24 * 3600 if SESSION_COOKIE_SECURE else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
