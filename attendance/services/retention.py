"""Retention: class photos are kept only as long as needed.

``ROLLCALL_RETENTION_DAYS`` after a session is finalized, its class photos and the crops and
embeddings of its faces matched to nobody are deleted. The attendance records, the faces matched
to a student (the evidence behind a mark) and the audit trail stay. A reopened session is not
finalized, so nothing of it goes until it is finalized again and the period has passed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from attendance.files import delete_after_commit
from attendance.models import AuditEvent, Capture, ClassSession, DetectedFace
from attendance.services.audit import audit_event


@dataclass(frozen=True)
class PurgeResult:
    sessions: int
    class_photos: int
    unknown_faces: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@transaction.atomic
def retention_purge(*, now: datetime | None = None, days: int | None = None) -> PurgeResult:
    """Delete what is past retention; running it twice deletes nothing the second time."""
    days = settings.ROLLCALL_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    sessions = ClassSession.objects.filter(
        state=ClassSession.State.FINALIZED, finalized_at__lte=cutoff
    )
    captures = list(
        Capture.objects.select_for_update().filter(session__in=sessions).exclude(image="")
    )
    faces = list(
        DetectedFace.objects.select_for_update()
        .filter(capture__session__in=sessions, student__isnull=True)
        .filter(~Q(crop="") | Q(embedding__isnull=False) | Q(backbone_embedding__isnull=False))
    )
    delete_after_commit(c.image for c in captures)
    delete_after_commit(f.crop for f in faces)
    Capture.objects.filter(pk__in=[c.pk for c in captures]).update(
        image="", photo_deleted_at=timezone.now()
    )
    DetectedFace.objects.filter(pk__in=[f.pk for f in faces]).update(
        crop="", embedding=None, backbone_embedding=None
    )
    result = PurgeResult(
        sessions=len({c.session_id for c in captures} | {f.capture.session_id for f in faces}),
        class_photos=len(captures),
        unknown_faces=len(faces),
    )
    if captures or faces:
        audit_event(
            action=AuditEvent.Action.RETENTION_PURGED,
            by=None,
            subject=f"{result.class_photos} class photo(s) past {days} days",
            detail={**result.as_dict(), "retention_days": days},
        )
    return result
