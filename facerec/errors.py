"""Errors raised by facerec, each with a stable ``code`` callers can branch on."""

from __future__ import annotations


class FaceRecError(Exception):
    """Base error. ``code`` is stable (safe to store or map to HTTP); ``message`` is for people."""

    code: str = "face_error"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


class ImageError(FaceRecError):
    """The file could not be turned into an image.

    Codes: ``not_an_image``, ``truncated_image``, ``image_too_large``, ``unsupported_image``.
    """


class ConfigurationError(FaceRecError):
    """An environment variable facerec reads is set to a value it cannot use.

    Code ``bad_setting``; the message names the variable and the value, e.g.
    "ROLLCALL_TF_THREADS must be a whole number >= 0, got 'four'".
    """

    def __init__(self, variable: str, message: str) -> None:
        super().__init__("bad_setting", message)
        self.variable = variable
