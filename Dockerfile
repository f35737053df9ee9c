# One image for web, worker and beat; the compose file picks the command. It holds the runtime set
# only (requirements.txt: no test runner, browser driver, linters or stubs) and runs as a user
# without root rights.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 rollcall

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are part of the image (STATIC_ROOT=/app/staticfiles), never of a volume. var/ is
# the only folder the app may write to (local files when no ROLLCALL_STORAGE_URL is set); with
# compose, photos go to MinIO and nothing is written in the container.
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && mkdir -p /app/var && chown rollcall /app/var

USER rollcall
EXPOSE 8000
# Bind, workers and the one request timeout (ROLLCALL_WEB_TIMEOUT) come from config/gunicorn.py.
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application"]
