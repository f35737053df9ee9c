"""Password reset from the sign-in page."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm


class ResetOrInviteForm(PasswordResetForm):
    """Django's reset form, which also answers an invited teacher who has not chosen a password
    yet (Django leaves out users with no usable password): their invitation link may have
    expired, and this is how they get a new one."""

    def get_users(self, email):
        model = get_user_model()
        return model._default_manager.filter(email__iexact=email, is_active=True)
