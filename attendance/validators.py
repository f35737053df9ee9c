"""Validators shared by the models, the API serializers and the forms."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

# C0 and C1 control characters (NUL, tab, CR, LF, ESC, ...) and DEL. An identifier holding one can
# split a CSV line, a log line or a Content-Disposition filename, and PostgreSQL refuses NUL.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@deconstructible
class NoControlCharacters:
    message = "Must not contain control characters such as line breaks, tabs or NUL."
    code = "control_characters"

    def __call__(self, value: object) -> None:
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoControlCharacters)


no_control_characters = NoControlCharacters()


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None
