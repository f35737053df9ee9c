"""A property-based run of the OpenAPI schema (schemathesis): for every operation, generated
requests (valid and invalid bodies, queries and ids) sent to the real app never get a 5xx.

Each generated request is sent twice: once as generated (mostly ids that do not exist), and once
with the path's id replaced by one of alice's real objects, so that bodies and queries also reach
the code behind a successful lookup. Both as the admin and as alice (a teacher).

Bounded: a few examples per operation, about a minute in all.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from attendance.services import face_models
from config.wsgi import application
from tests.api.conftest import api_client

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]

# Loaded at collection time: generating the schema needs no database, but the schema is for
# signed-in users and there is no user yet, so it is opened for this one request.
with override_settings(ROLLCALL_API_DOCS_PUBLIC=True):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def keep_the_test_connection(db):
    """The WSGI handler closes the database connection around each request, which would end the
    test's transaction; Django's own test client switches this off in the same way."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture(params=["admin", "alice"])
def caller(request, keep_the_test_connection, admin_user, alice, alices) -> tuple[dict, dict]:
    """(headers, real ids by resource) for one user."""
    user = admin_user if request.param == "admin" else alice
    headers = {"Authorization": api_client(user)._credentials["HTTP_AUTHORIZATION"]}
    ids = {
        "courses": alices.course.pk,
        "students": alices.student.pk,
        "enrollments": alices.enrollment.pk,
        "sessions": alices.session.pk,
        "photos": alices.photo.pk,
        "captures": alices.capture.pk,
        "faces": alices.face.pk,
        "records": alices.record.pk,
        "webhooks": alices.webhook.pk,
        "jobs": alices.job.pk,
        "face-models": face_models.shipped_register().pk,
    }
    return headers, ids


def real_id(path: str, ids: dict) -> int:
    # /api/<resource>/{id}/... or /api/reports/<resource>/{id}/
    parts = [p for p in path.split("/") if p and p not in {"api", "reports"}]
    return ids[parts[0]]


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_generated_request_makes_the_server_fail(case, caller):
    headers, ids = caller

    response = case.call(headers=headers)
    case.validate_response(response, checks=[not_a_server_error])

    if case.path_parameters and "id" in case.path_parameters:
        case.path_parameters["id"] = real_id(case.path, ids)
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error])
