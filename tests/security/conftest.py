"""alice's things (course, session, student, capture, face...) from the API tests' fixtures."""

from tests.api.conftest import alices  # noqa: F401
