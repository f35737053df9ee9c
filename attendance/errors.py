"""Domain errors: a stable machine-readable ``code`` and a message a person can act on.

Views turn them into 4xx responses (pages show the message; the API returns
``{"error": {"code": ..., "message": ...}}``); nothing else needs to know about HTTP.
"""

from __future__ import annotations


class DomainError(Exception):
    code: str = "invalid"
    http_status: int = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class InvalidInput(DomainError):
    code = "invalid"


class NotAllowed(DomainError):
    code = "not_allowed"
    http_status = 403


class Conflict(DomainError):
    code = "conflict"
    http_status = 409
