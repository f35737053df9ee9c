"""Response headers: a Content-Security-Policy on every response that allows scripts and styles
only from our own files (so no page may carry inline script or style), and in production HSTS
whenever cookies are secure."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
INLINE = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "<style> element": re.compile(r"<style\b", re.I),
    "style= attribute": re.compile(r"\sstyle\s*=", re.I),
    "on...= handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def inline_code(html: str) -> list[str]:
    return [name for name, pattern in INLINE.items() if pattern.search(html)]


def test_every_kind_of_response_carries_the_policy(client, alice, course):
    anonymous = client.get("/accounts/login/")
    client.force_login(alice)
    responses = [
        anonymous,
        client.get("/"),
        client.get(f"/courses/{course.pk}/"),
        client.get("/api/courses/", HTTP_ACCEPT="application/json"),
        client.get("/api/docs/"),
    ]

    for response in responses:
        policy = directives(response)
        assert policy["script-src"] == "'self'"
        assert policy["style-src"] == "'self'"
        assert policy["object-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_no_template_has_inline_script_or_style():
    offenders = {
        str(path.relative_to(ROOT)): inline_code(path.read_text())
        for path in sorted((ROOT / "templates").rglob("*.html"))
        if inline_code(path.read_text())
    }

    assert offenders == {}


def test_the_pages_as_served_have_no_inline_script_or_style(client, alice, admin_user, alices):
    client.force_login(admin_user)
    urls = [
        "/",
        f"/courses/{alices.course.pk}/",
        f"/sessions/{alices.session.pk}/",
        f"/students/{alices.student.pk}/",
        f"/captures/{alices.capture.pk}/",
        "/account/api-tokens/",
        "/api/docs/",
        "/students/",
        "/students/new/",
        "/students/import/",
        "/courses/new/",
        f"/courses/{alices.course.pk}/edit/",
        f"/reports/courses/{alices.course.pk}/",
        f"/reports/sessions/{alices.session.pk}/",
        f"/reports/students/{alices.student.pk}/",
        "/accounts/password/",
    ]

    responses = {url: client.get(url) for url in urls}

    assert {url: r.status_code for url, r in responses.items()} == {url: 200 for url in urls}
    served = {url: inline_code(r.content.decode()) for url, r in responses.items()}
    assert served == {url: [] for url in urls}


def test_deleting_a_student_still_asks_first_from_a_script_file(client, admin_user, alices):
    client.force_login(admin_user)

    body = client.get(f"/students/{alices.student.pk}/").content.decode()

    assert 'data-confirm="Delete Ada Lovelace? Their photos, faces and contact details' in body
    assert '<script src="/static/attendance/live.js" defer></script>' in body


def production_settings(**environment: str) -> dict:
    """The production settings' security values under this environment (a fresh process)."""
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_INCLUDE_SUBDOMAINS]))"
    )
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "tests-only",
        **environment,
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    secure, hsts, redirect, subdomains = json.loads(result.stdout.strip().splitlines()[-1])
    return {"secure": secure, "hsts": hsts, "redirect": redirect, "subdomains": subdomains}


def test_with_secure_cookies_production_sends_hsts_for_a_year_and_redirects_to_https():
    assert production_settings() == {
        "secure": True,
        "hsts": 365 * 24 * 3600,
        "redirect": True,
        "subdomains": True,
    }


def test_a_plain_http_trial_gets_no_hsts_that_would_lock_browsers_out():
    trial = production_settings(DJANGO_SECURE_COOKIES="false")

    assert (trial["secure"], trial["hsts"], trial["redirect"]) == (False, 0, False)
