"""Everything RollCall holds about one student, as one ZIP with a JSON manifest: the access
request that data-protection law gives every student. Admins only (the view checks)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime

from django.db.models.fields.files import FieldFile
from django.utils import timezone

from attendance.models import (
    AttendanceChange,
    AttendanceRecord,
    AuditEvent,
    DetectedFace,
    Enrollment,
    ReferencePhoto,
    Student,
)

MANIFEST = "manifest.json"


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _user(user) -> str | None:
    return user.get_username() if user is not None else None


def _add_file(archive: zipfile.ZipFile, field: FieldFile, folder: str, pk: int) -> str | None:
    """Copy a stored file into the archive; the manifest names it (None when it is gone)."""
    if not field or not field.name:
        return None
    suffix = field.name.rsplit(".", 1)[-1]
    target = f"{folder}/{pk}.{suffix}"
    try:
        with field.storage.open(field.name, "rb") as handle:
            archive.writestr(target, handle.read())
    except FileNotFoundError:
        return None
    return target


def student_export_zip(*, student: Student) -> bytes:
    """The ZIP: manifest.json plus the student's reference photos, their crops and the crops of
    their faces in class photos (never a whole class photo: it shows other students)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        manifest = _manifest(student, archive)
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
    return buffer.getvalue()


def _manifest(student: Student, archive: zipfile.ZipFile) -> dict:
    return {
        "generated_at": _iso(timezone.now()),
        "student": {
            "id": student.pk,
            "student_number": student.student_number,
            "full_name": student.full_name,
            "email": student.email,
            "active": student.active,
            "created_at": _iso(student.created_at),
        },
        "consent": {
            "given_at": _iso(student.consent_given_at),
            "given_by": _user(student.consent_given_by),
            "history": _events(student, consent_only=True),
        },
        "enrollments": [
            {"course": str(e.course), "joined_on": _iso(e.joined_on), "left_on": _iso(e.left_on)}
            for e in Enrollment.objects.filter(student=student).select_related("course")
        ],
        "reference_photos": [
            {
                "id": p.pk,
                "status": p.status,
                "uploaded_at": _iso(p.created_at),
                "image": _add_file(archive, p.image, "reference_photos", p.pk),
                "face_crop": _add_file(archive, p.face_crop, "reference_crops", p.pk),
                "has_embedding": p.embedding is not None,
            }
            for p in ReferencePhoto.objects.filter(student=student).order_by("pk")
        ],
        "faces_in_class_photos": [
            {
                "id": f.pk,
                "capture": f.capture_id,
                "session": str(f.capture.session),
                "box": f.box,
                "decision": f.decision,
                "distance": f.distance,
                "crop": _add_file(archive, f.crop, "faces", f.pk),
                "has_embedding": f.embedding is not None,
            }
            for f in DetectedFace.objects.filter(student=student)
            .select_related("capture__session__course")
            .order_by("pk")
        ],
        "attendance_records": [
            {
                "session": str(r.session),
                "status": r.status,
                "source": r.source,
                "confidence": r.confidence,
                "remark": r.remark,
                "marked_by": _user(r.marked_by),
                "marked_at": _iso(r.marked_at),
            }
            for r in AttendanceRecord.objects.filter(student=student).select_related(
                "session__course", "marked_by"
            )
        ],
        "attendance_changes": [
            {
                "session": str(c.session),
                "from": c.old_status,
                "to": c.new_status,
                "source": c.new_source,
                "remark_from": c.old_remark,
                "remark_to": c.new_remark,
                "by": _user(c.changed_by),
                "at": _iso(c.changed_at),
                "reason": c.reason,
            }
            for c in AttendanceChange.objects.filter(student=student).select_related(
                "session__course", "changed_by"
            )
        ],
        "audit_events": _events(student),
    }


CONSENT_ACTIONS = {AuditEvent.Action.CONSENT_RECORDED, AuditEvent.Action.BIOMETRICS_ERASED}


def _events(student: Student, *, consent_only: bool = False) -> list[dict]:
    events = AuditEvent.objects.filter(student=student).select_related("by").order_by("at", "pk")
    if consent_only:
        events = events.filter(action__in=CONSENT_ACTIONS)
    return [
        {"action": e.action, "at": _iso(e.at), "by": _user(e.by), "detail": e.detail}
        for e in events
    ]
