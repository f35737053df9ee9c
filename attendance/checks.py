"""System checks: `manage.py check`, and every start-up, refuse a malformed face-library setting.

facerec reads its own environment variables (see facerec/config.py); this check runs facerec's
validation when Django starts, so a typo stops the web process and the worker with a message
naming the variable instead of failing at the first class photo.
"""

from __future__ import annotations

from django.core.checks import CheckMessage, Error, register

from facerec.config import environment_errors


@register()
def facerec_environment_check(app_configs=None, **kwargs) -> list[CheckMessage]:
    return [
        Error(error.message, hint="Fix or unset it in the environment.", id="attendance.E001")
        for error in environment_errors()
    ]
