"""Settings come from the environment through one reader, and the compose file feeds it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from config.celery_app import app as celery_app
from config.env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_int,
    parse_cache_url,
    parse_database_url,
    parse_storage_url,
)

ROOT = Path(__file__).resolve().parents[1]
READ_CALL = re.compile(r"env_\w+\(\s*\"([A-Z0-9_]+)\"")


def variables_read_by_settings() -> set[str]:
    names: set[str] = {"DJANGO_SETTINGS_MODULE"}
    for module in (ROOT / "config").rglob("*.py"):
        names |= set(READ_CALL.findall(module.read_text()))
    return names | {"DJANGO_SECRET_KEY"}  # production.py requires it by name


def as_text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else " ".join(value)


def test_a_malformed_boolean_stops_start_up_with_its_name(monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "yes please")
    with pytest.raises(ImproperlyConfiguredEnv, match="DJANGO_DEBUG must be true or false"):
        env_bool("DJANGO_DEBUG", False)


def test_a_malformed_number_stops_start_up_with_its_name(monkeypatch):
    monkeypatch.setenv("ROLLCALL_MAX_UPLOAD_BYTES", "25MB")
    with pytest.raises(ImproperlyConfiguredEnv, match="ROLLCALL_MAX_UPLOAD_BYTES must be a whole"):
        env_int("ROLLCALL_MAX_UPLOAD_BYTES", 1)


def test_a_blank_value_means_the_default(monkeypatch):
    monkeypatch.setenv("ROLLCALL_MAX_UPLOAD_BYTES", "  ")
    assert env_int("ROLLCALL_MAX_UPLOAD_BYTES", 7) == 7


def test_database_urls_become_database_settings():
    pg = parse_database_url("postgres://ro%40ll:s3cr%2Ft@db.example:6543/rollcall?sslmode=require")
    assert (pg["ENGINE"], pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "django.db.backends.postgresql",
        "rollcall",
        "ro@ll",
        "s3cr/t",
        "db.example",
        "6543",
    )
    # A database that cannot be reached is given up on after 3 s, unless the URL says otherwise.
    assert pg["OPTIONS"] == {"sslmode": "require", "connect_timeout": "3"}
    assert pg["CONN_HEALTH_CHECKS"] is True
    slow = parse_database_url("postgres://u@h/db?connect_timeout=10")
    assert slow["OPTIONS"] == {"connect_timeout": "10"}
    assert parse_database_url("sqlite:////tmp/x.db")["NAME"] == "/tmp/x.db"
    with pytest.raises(ImproperlyConfiguredEnv, match="must start with sqlite:// or postgres://"):
        parse_database_url("mysql://localhost/x")


def test_cache_urls_choose_a_shared_redis_cache_or_process_memory():
    redis = parse_cache_url("redis://cache.example:6379/2")
    assert redis == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.example:6379/2",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
    }
    assert parse_cache_url("")["BACKEND"].endswith("LocMemCache")
    with pytest.raises(ImproperlyConfiguredEnv, match="ROLLCALL_CACHE_URL must start with"):
        parse_cache_url("memcached://localhost")


def test_two_processes_configured_with_the_same_redis_url_share_cached_values():
    from django.core.cache.backends.redis import RedisCache

    # The real Redis the tests use; a database of its own so nothing else is touched.
    url = "redis://127.0.0.1:6379/13"
    web = RedisCache(url, {})
    worker = RedisCache(url, {})  # a separate client and connection, as another process has
    web.set("report:v1", {"rate": 0.93}, 30)
    try:
        assert worker.get("report:v1") == {"rate": 0.93}
    finally:
        web.delete("report:v1")


def test_env_example_documents_every_variable_the_settings_read():
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert variables_read_by_settings() - documented == set()


@pytest.fixture(scope="module")
def compose() -> dict:
    if shutil.which("docker-compose") is None:
        pytest.skip(
            "docker-compose is not installed (Debian package docker-compose; .ci/run adds it)"
        )
    resolved = docker_compose_config(DJANGO_SECRET_KEY=THROWAWAY_SECRET_KEY)
    assert resolved.returncode == 0, resolved.stderr
    return yaml.safe_load(resolved.stdout)


# Long and random-looking enough for `check --deploy`; only ever used by these tests.
THROWAWAY_SECRET_KEY = "tests-only-" + "x7Qp2mK9vR4tW8zL3nB6cD1fG5hJ0sA" * 2


def docker_compose_config(**environment: str) -> subprocess.CompletedProcess:
    """``docker-compose config`` with exactly these variables (no .env file, no shell's)."""
    with tempfile.NamedTemporaryFile(suffix=".env") as empty_env_file:
        return subprocess.run(
            [
                "docker-compose",
                "--env-file",
                empty_env_file.name,
                "-f",
                str(ROOT / "docker-compose.yml"),
                "config",
            ],
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", **environment},
        )


def test_compose_refuses_to_start_without_a_secret_key(compose):
    without = docker_compose_config()

    assert without.returncode != 0
    assert "set DJANGO_SECRET_KEY" in without.stderr


def test_check_deploy_is_clean_with_the_compose_files_environment(compose):
    environment = {
        name: str(value) for name, value in compose["services"]["web"]["environment"].items()
    }

    check = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **environment},
    )

    assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert check.returncode == 0, check.stdout + check.stderr
    assert "System check identified no issues" in check.stdout


def test_compose_runs_web_worker_beat_postgres_redis_and_minio_with_health_checks(compose):
    services = compose["services"]
    assert set(services) == {"web", "worker", "beat", "postgres", "redis", "minio", "minio-init"}
    long_running = set(services) - {"minio-init"}  # creates the bucket, then exits
    assert all("healthcheck" in services[name] for name in long_running)
    assert set(compose["volumes"]) == {"pgdata", "redisdata", "miniodata"}
    assert "http://localhost:8000/readyz" in services["web"]["healthcheck"]["test"]


def test_compose_commands_match_the_apps_entry_points(compose):
    web, worker = compose["services"]["web"], compose["services"]["worker"]
    assert "gunicorn -c config/gunicorn.py config.wsgi:application" in as_text(web["command"])
    worker_command = as_text(worker["command"])
    assert "celery -A config worker" in worker_command
    assert f"--queues={celery_app.conf.task_default_queue}" in worker_command
    # Workers scale; the one scheduler is its own service.
    assert "--beat" not in worker_command and "--concurrency=1" in worker_command
    assert as_text(compose["services"]["beat"]["command"]).startswith("celery -A config beat")
    assert "8000-8009:8000" in str(web["ports"]) or "8000-8009" in str(web["ports"])


def test_compose_sets_only_variables_the_settings_read(compose):
    for name in ("web", "worker"):
        environment = compose["services"][name]["environment"]
        assert set(environment) - variables_read_by_settings() == set()
        assert parse_database_url(environment["DATABASE_URL"])["HOST"] == "postgres"
        assert environment["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        storage = parse_storage_url(environment["ROLLCALL_STORAGE_URL"], location=Path("/x"))
        assert storage["BACKEND"] == "attendance.storage.PrivateS3Storage"
        assert storage["OPTIONS"]["endpoint_url"] == "http://minio:9000"


def test_no_volume_is_shared_by_web_worker_or_beat(compose):
    for name in ("web", "worker", "beat"):
        assert compose["services"][name].get("volumes", []) == [], name
        assert "minio-init" in compose["services"][name]["depends_on"]


def test_minio_init_creates_the_private_bucket_the_app_uses(compose):
    init = as_text(compose["services"]["minio-init"]["entrypoint"])
    bucket = compose["services"]["minio-init"]["environment"]["ROLLCALL_BUCKET"]
    url = compose["services"]["web"]["environment"]["ROLLCALL_STORAGE_URL"]

    assert "mc mb --ignore-existing" in init and "mc anonymous set none" in init
    assert parse_storage_url(url, location=Path("/x"))["OPTIONS"]["bucket_name"] == bucket


def test_one_gunicorn_timeout_everywhere_from_one_variable(compose, monkeypatch):
    import runpy

    # No command sets its own timeout: every gunicorn start reads config/gunicorn.py.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '"gunicorn", "-c", "config/gunicorn.py"' in dockerfile
    bench = (ROOT / "benchmarks/reports.py").read_text()
    assert "--config=config/gunicorn.py" in bench
    for text in (dockerfile, bench, as_text(compose["services"]["web"]["command"])):
        assert "--timeout" not in text and "--workers 3" not in text
    assert compose["services"]["web"]["environment"]["ROLLCALL_WEB_TIMEOUT"] == "60"

    monkeypatch.setenv("ROLLCALL_WEB_TIMEOUT", "45")
    gunicorn = runpy.run_path(str(ROOT / "config" / "gunicorn.py"))
    assert (gunicorn["timeout"], gunicorn["graceful_timeout"]) == (45, 45)


def test_a_malformed_face_library_setting_fails_the_system_check(monkeypatch):
    from django.core.checks import Error, run_checks

    monkeypatch.setenv("ROLLCALL_TF_THREADS", "four")

    errors = [m for m in run_checks() if m.id == "attendance.E001"]

    assert [(type(e), e.msg) for e in errors] == [
        (Error, "ROLLCALL_TF_THREADS must be a whole number >= 0, got 'four'")
    ]


def test_manage_py_check_stops_on_a_malformed_face_library_setting():
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check"],
        env={
            **os.environ,
            "ROLLCALL_TF_THREADS": "four",
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
        },
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 1
    assert "ROLLCALL_TF_THREADS must be a whole number >= 0, got 'four'" in done.stderr


def test_the_system_check_passes_with_the_defaults(monkeypatch):
    from django.core.checks import run_checks

    monkeypatch.delenv("ROLLCALL_TF_THREADS", raising=False)

    assert [m for m in run_checks() if m.id == "attendance.E001"] == []


# Run by the production settings in a fresh interpreter: every page in the login screen and the
# API docs lists its stylesheets and scripts; each must answer 200 with a body.
FETCH_STATIC = """
import re, sys
import django
django.setup()
from django.test import Client
client = Client(HTTP_X_FORWARDED_PROTO="https", SERVER_NAME="localhost")
assets = []
for page in ("/accounts/login/", "/api/docs/"):
    response = client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    html = response.content.decode()
    assets += re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assets += re.findall(r'<script src="([^"]+)"', html)
for url in assets:
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    print(response.status_code, len(body), url)
"""


def test_static_files_collected_in_the_image_are_served_under_the_compose_environment(
    compose, tmp_path
):
    # The compose file mounts a volume on the data folder: whatever the image put there at
    # build time is hidden at run time. Here the data folder is a temporary one, emptied after
    # collectstatic just as the volume hides it.
    data = tmp_path / "data"
    environment = {
        name: str(value).replace("/data", str(data))
        for name, value in compose["services"]["web"]["environment"].items()
    }
    environment |= {"PATH": os.environ["PATH"], "ROLLCALL_API_DOCS_PUBLIC": "true"}
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=environment,
    )
    assert collect.returncode == 0, collect.stderr
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir()

    fetched = subprocess.run(
        [sys.executable, "-c", FETCH_STATIC],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=environment,
    )

    assert fetched.returncode == 0, fetched.stderr
    lines = [line.split(" ", 2) for line in fetched.stdout.splitlines()]
    urls = [url for _, _, url in lines]
    assert "/static/attendance/app.css" in urls
    assert any(url.startswith("/static/drf_spectacular_sidecar/swagger-ui-dist/") for url in urls)
    assert [(status, size != "0") for status, size, _ in lines] == [("200", True)] * len(lines)
