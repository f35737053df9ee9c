"""Teachers and admins: created or invited from the app, deactivated and reactivated.

A teacher is a non-staff user who sees only the courses they teach; an admin is staff. An invited
person never gets a typed password: the invitation mails a link made by Django's password-reset
machinery, where they choose their own.
"""

from __future__ import annotations

import logging
from smtplib import SMTPException

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from attendance.errors import InvalidInput
from attendance.models import AuditEvent
from attendance.services.audit import audit_event
from attendance.services.tokens import api_token_create

logger = logging.getLogger(__name__)
ROLES = {"teacher": False, "admin": True}  # role -> is_staff


@transaction.atomic
def teacher_create(
    *,
    username: str,
    email: str = "",
    full_name: str = "",
    password: str | None = None,
    is_staff: bool = False,
) -> tuple[User, str]:
    """Create a teacher and their API token; returns (user, token key). Without a password the
    teacher signs in to the pages only after setting one (an invitation link, or a reset)."""
    username = username.strip()
    if User.objects.filter(username__iexact=username).exists():
        error = InvalidInput(f"The username {username!r} is taken.", code="username_taken")
        error.field = "username"
        raise error
    first, _, last = full_name.strip().partition(" ")
    user = User(
        username=username, email=email.strip(), first_name=first, last_name=last, is_staff=is_staff
    )
    if password:
        validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    return user, api_token_create(user=user, name="created with the teacher").key


def password_link(*, user: User, base_url: str) -> str:
    """The absolute link where ``user`` chooses a password (Django's reset confirm page); it
    stops working once used, once the password changes, or after PASSWORD_RESET_TIMEOUT."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return base_url.rstrip("/") + path


def teacher_invite(
    *, username: str, email: str, full_name: str, role: str, by: User, base_url: str
) -> tuple[User, bool]:
    """Create a teacher (or an admin) with no password and mail them a link to choose one.
    Returns (user, whether the mail left): the account is kept when the mail server is down, and
    the list offers to send the invitation again."""
    if role not in ROLES:
        raise InvalidInput("The role is teacher or admin.", code="invalid_role")
    if not email.strip():
        raise InvalidInput("An invitation needs an email address.", code="email_required")
    with transaction.atomic():
        user, _ = teacher_create(
            username=username, email=email, full_name=full_name, is_staff=ROLES[role]
        )
        audit_event(
            action=AuditEvent.Action.TEACHER_INVITED,
            by=by,
            subject=f"{user.get_full_name() or user.username} ({role})",
            detail={"user_id": user.pk, "username": user.username, "role": role},
        )
    return user, invitation_send(user=user, by=by, base_url=base_url)


def invitation_send(*, user: User, by: User, base_url: str) -> bool:
    """Mail ``user`` a fresh link to choose a password (an earlier link keeps working until a
    password is set). False, and logged, when the mail server refuses or cannot be reached."""
    if user.has_usable_password() or not user.is_active:
        raise InvalidInput(
            f"{user.username} has a password already or is deactivated: nothing to send.",
            code="not_invited",
        )
    context = {
        "user": user,
        "by": by,
        "link": password_link(user=user, base_url=base_url),
        "days": settings.PASSWORD_RESET_TIMEOUT // 86400,
    }
    body = render_to_string("attendance/emails/invite.txt", context)
    try:
        send_mail("You are invited to RollCall", body, None, [user.email])
    except (OSError, SMTPException):
        logger.exception("the invitation to %s could not be sent", user.username)
        return False
    return True


@transaction.atomic
def teacher_set_active(*, user: User, active: bool, by: User) -> User:
    """Deactivate (they can no longer sign in; their courses and marks stay) or reactivate."""
    if user.pk == by.pk and not active:
        raise InvalidInput("You cannot deactivate yourself.", code="self_deactivation")
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit_event(
            action=AuditEvent.Action.TEACHER_ACTIVATED
            if active
            else AuditEvent.Action.TEACHER_DEACTIVATED,
            by=by,
            subject=user.get_full_name() or user.username,
            detail={"user_id": user.pk, "username": user.username},
        )
    return user
