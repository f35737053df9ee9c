"""Teachers: non-staff users who see only the courses they teach."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from attendance.errors import InvalidInput
from attendance.services.tokens import api_token_create


@transaction.atomic
def teacher_create(
    *, username: str, email: str = "", full_name: str = "", password: str | None = None
) -> tuple[User, str]:
    """Create a teacher and their API token; returns (user, token key). Without a password the
    teacher signs in to the pages only after an admin sets one (the API works with the token)."""
    username = username.strip()
    if User.objects.filter(username__iexact=username).exists():
        error = InvalidInput(f"The username {username!r} is taken.", code="username_taken")
        error.field = "username"
        raise error
    first, _, last = full_name.strip().partition(" ")
    user = User(username=username, email=email.strip(), first_name=first, last_name=last)
    if password:
        validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    return user, api_token_create(user=user, name="created with the teacher").key
