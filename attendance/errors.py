"""Domain errors: a stable machine-readable ``code`` and a message a person can act on.

Views turn them into 4xx responses (pages show the message; the API returns
``{"error": {"code": ..., "message": ...}}``); nothing else needs to know about HTTP.
"""

from __future__ import annotations


class DomainError(Exception):
    code: str = "invalid"
    http_status: int = 400
    # The input field the error is about, when there is one: pages and the API show it there.
    field: str | None = None
    # What to tell an API client when it differs from the page's message (it names the API call
    # to make instead of a page to open).
    api_message: str | None = None

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class InvalidInput(DomainError):
    code = "invalid"


class NotOnRoster(InvalidInput):
    """The student is not enrolled in the session's course on the session's date."""

    code = "not_enrolled"
    field = "student"


class NotAllowed(DomainError):
    code = "not_allowed"
    http_status = 403


class Conflict(DomainError):
    code = "conflict"
    http_status = 409
