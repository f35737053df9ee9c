"""A property-based run of the OpenAPI schema (schemathesis): for every operation, generated
requests (valid and invalid) sent to the real app, as an admin with a token, never get a 5xx.

Bounded: a few examples per operation, so the whole run takes well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from config.wsgi import application
from tests.api.conftest import api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def keep_the_test_connection(db):
    """The WSGI handler closes the database connection around each request, which would end the
    test's transaction; Django's own test client switches this off in the same way."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def admin_token(admin_user, alices) -> str:
    """An admin's token, with alice's things (ids 1.. in a fresh sequence are likely hits)."""
    client = api_client(admin_user)
    return client._credentials["HTTP_AUTHORIZATION"]


# Loaded at collection time: generating the schema needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_generated_request_makes_the_server_fail(case, keep_the_test_connection, admin_token):
    response = case.call(headers={"Authorization": admin_token})

    case.validate_response(response, checks=[not_a_server_error])
