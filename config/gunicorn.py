"""gunicorn's settings, the one place its timeout is set: `gunicorn -c config/gunicorn.py
config.wsgi:application` in the Dockerfile, docker-compose.yml and `manage.py bench_reports`.

ROLLCALL_WEB_TIMEOUT bounds every request: a worker silent for longer is killed and restarted.
Nothing legitimate takes that long any more: roster imports and uploads of several photos are
background jobs, finalizing is a few set-based queries, and a body over the size limit is refused
before it is read. Behind a proxy, set the proxy's read timeout a little above this one.
"""

from config.env import env_int, env_str

bind = env_str("ROLLCALL_WEB_BIND", "0.0.0.0:8000")
workers = env_int("ROLLCALL_WEB_WORKERS", 3, minimum=1)
timeout = env_int("ROLLCALL_WEB_TIMEOUT", 60, minimum=5)
# A graceful restart (a deploy) lets requests in flight finish within the same bound.
graceful_timeout = timeout
