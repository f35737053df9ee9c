"""Questions the capture pipeline and its pages ask: the gallery to match against, a capture's
faces and what the status endpoint reports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from attendance.models import (
    Capture,
    ClassSession,
    Course,
    DetectedFace,
    ReferenceEmbedding,
    ReferencePhoto,
    Student,
)
from attendance.selectors.sessions import roster_students

TOO_SMALL = DetectedFace.Decision.TOO_SMALL


@dataclass(frozen=True)
class Gallery:
    """Reference embeddings of a session's roster: one row per photo, labelled by student id
    (``photo_ids``: the reference photo behind each row)."""

    embeddings: np.ndarray
    labels: list[int]
    model_version: str
    photo_ids: tuple[int, ...] = ()

    @property
    def student_count(self) -> int:
        return len(set(self.labels))


def gallery_photos(*, session: ClassSession, model_version: str) -> QuerySet[ReferencePhoto]:
    """Ready photos of students enrolled on the session's date who (still) gave consent.

    Only photos embedded by ``model_version`` count (embeddings are kept per version): two
    model versions' vectors live in different spaces, so mixing them would compare nonsense.
    """
    return ReferencePhoto.objects.filter(
        student__in=roster_students(session=session),
        student__active=True,
        student__consent_given_at__isnull=False,
        status=ReferencePhoto.Status.READY,
        embeddings__model_version=model_version,
    ).order_by("student_id", "pk")


def session_gallery(*, session: ClassSession, model_version: str) -> Gallery:
    return _gallery(gallery_photos(session=session, model_version=model_version), model_version)


def course_gallery(*, course: Course, model_version: str) -> Gallery:
    """The gallery of the course's roster today (what its next class photo is matched with)."""
    today = ClassSession(course=course, date=timezone.localdate())
    return session_gallery(session=today, model_version=model_version)


def _gallery(photos: QuerySet[ReferencePhoto], model_version: str) -> Gallery:
    rows = list(
        ReferenceEmbedding.objects.filter(photo__in=photos, model_version=model_version)
        .order_by("photo__student_id", "photo_id")
        .values_list("photo_id", "photo__student_id", "embedding")
    )
    labels = [student_id for _, student_id, _ in rows]
    vectors = [np.frombuffer(bytes(raw or b""), dtype=np.float32) for _, _, raw in rows]
    embeddings = np.stack(vectors) if vectors else np.zeros((0, 0), np.float32)
    return Gallery(
        embeddings=embeddings,
        labels=labels,
        model_version=model_version,
        photo_ids=tuple(pk for pk, _, _ in rows),
    )


def faces_suggestable(*, faces: Iterable[DetectedFace]) -> set[int]:
    """Of the students named in these faces' candidate lists, those who may be suggested: with
    photo consent and not deleted. Erasure removes the others from the lists already; this keeps
    any list written before that rule out of sight too. One query."""
    named = {c["student_id"] for face in faces for c in face.candidates or []}
    if not named:
        return set()
    return set(
        Student.objects.filter(
            pk__in=named, consent_given_at__isnull=False, deleted_at__isnull=True
        ).values_list("pk", flat=True)
    )


def capture_faces(*, capture: Capture) -> QuerySet[DetectedFace]:
    return capture.faces.select_related("student", "decided_by").order_by("index")


def capture_status(*, capture: Capture) -> dict:
    """The small JSON the session page polls while a capture is processed."""
    done = capture.state == Capture.State.DONE
    rows = list(capture.faces.values_list("decision", "student_id")) if done else []
    faces = [(decision, student) for decision, student in rows if decision != TOO_SMALL]
    too_small = len(rows) - len(faces)
    return {
        "id": capture.pk,
        "state": capture.state,
        "state_display": capture.get_state_display(),
        "finished": capture.state in {Capture.State.DONE, Capture.State.FAILED},
        "failure_code": capture.failure_code,
        "failure_reason": capture.failure_reason,
        "faces": len(faces),
        "matched": sum(1 for decision, student in faces if student and decision != "review"),
        "review": sum(1 for decision, _ in faces if decision == "review"),
        "unknown": sum(1 for _, student in faces if not student),
        "too_small": too_small,
        "too_small_message": too_small_message(too_small),
        "timings": capture.timings,
    }


def too_small_message(count: int) -> str:
    """What to do about faces found but too small to recognise; empty when there are none."""
    if count == 0:
        return ""
    faces = "1 face was" if count == 1 else f"{count} faces were"
    return f"{faces} too small to recognise: take the photo closer or in two halves."


def session_captures(*, session: ClassSession) -> list[Capture]:
    """The session's captures, newest first, each with ``too_small`` (its faces too small to
    recognise) and ``too_small_message`` (what to do about them, or "")."""
    captures: list[Capture] = list(
        session.captures.annotate(
            too_small=Count("faces", filter=Q(faces__decision=TOO_SMALL))
        ).order_by("-created_at")
    )
    for capture in captures:
        capture.too_small_message = too_small_message(capture.too_small)  # type: ignore[attr-defined]
    return captures
