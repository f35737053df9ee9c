"""Questions the capture pipeline and its pages ask: the gallery to match against, a capture's
faces and what the status endpoint reports."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db.models import QuerySet

from attendance.models import Capture, ClassSession, DetectedFace, ReferencePhoto
from attendance.selectors.sessions import roster_students


@dataclass(frozen=True)
class Gallery:
    """Reference embeddings of a session's roster: one row per photo, labelled by student id."""

    embeddings: np.ndarray
    labels: list[int]
    model_version: str

    @property
    def student_count(self) -> int:
        return len(set(self.labels))


def gallery_photos(*, session: ClassSession, model_version: str) -> QuerySet[ReferencePhoto]:
    """Ready photos of students enrolled on the session's date who (still) gave consent.

    Only photos embedded by ``model_version`` count: two model versions' vectors live in
    different spaces, so mixing them would compare nonsense.
    """
    return ReferencePhoto.objects.filter(
        student__in=roster_students(session=session),
        student__active=True,
        student__consent_given_at__isnull=False,
        status=ReferencePhoto.Status.READY,
        model_version=model_version,
        embedding__isnull=False,
    ).order_by("student_id", "pk")


def session_gallery(*, session: ClassSession, model_version: str) -> Gallery:
    rows = list(
        gallery_photos(session=session, model_version=model_version).values_list(
            "student_id", "embedding"
        )
    )
    labels = [student_id for student_id, _ in rows]
    vectors = [np.frombuffer(bytes(raw or b""), dtype=np.float32) for _, raw in rows]
    embeddings = np.stack(vectors) if vectors else np.zeros((0, 0), np.float32)
    return Gallery(embeddings=embeddings, labels=labels, model_version=model_version)


def capture_faces(*, capture: Capture) -> QuerySet[DetectedFace]:
    return capture.faces.select_related("student", "decided_by").order_by("index")


def capture_status(*, capture: Capture) -> dict:
    """The small JSON the session page polls while a capture is processed."""
    done = capture.state == Capture.State.DONE
    faces = list(capture.faces.values_list("decision", "student_id")) if done else []
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
        "timings": capture.timings,
    }


def session_captures(*, session: ClassSession) -> QuerySet[Capture]:
    return session.captures.order_by("-created_at")
