"""The audit trail of events that are not marks (see ``AuditEvent``)."""

from __future__ import annotations

from django.contrib.auth.models import User

from attendance.models import AuditEvent, ClassSession, Student


def audit_event(
    *,
    action: str,
    by: User | None,
    session: ClassSession | None = None,
    student: Student | None = None,
    subject: str = "",
    detail: dict | None = None,
) -> AuditEvent:
    """Append one event. Runs inside the caller's transaction: no event without its change."""
    subject = subject or str(session or student or "")
    return AuditEvent.objects.create(
        action=action,
        by=by if by is not None and by.is_authenticated else None,
        session=session,
        student=student,
        subject=subject[:300],
        detail=detail or {},
    )
