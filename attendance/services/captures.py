"""Class photos and webcam frames: saved in the request, processed by a Celery task.

``capture_create`` checks and saves the photo and enqueues ``process_capture`` once the upload's
transaction commits. ``capture_process`` (the task's body) decodes, detects, embeds every face in
one batch, matches them one-to-one against the roster's reference photos, stores the faces and
marks the matched students present. It is idempotent: a capture already processed by the current
model is left alone, and a forced reprocess rewrites the same faces and marks nothing twice.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import File
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from attendance.errors import Conflict, DomainError, InvalidInput
from attendance.files import delete_after_commit
from attendance.models import (
    AttendanceRecord,
    AuditEvent,
    Capture,
    ClassSession,
    DetectedFace,
    FaceModel,
    Student,
    embedding_to_bytes,
)
from attendance.selectors.captures import Gallery, session_gallery
from attendance.selectors.sessions import roster_students
from attendance.services import face_models, gallery, webhooks
from attendance.services.audit import audit_event
from attendance.services.calibration import gallery_calibration
from attendance.services.liveness import heartbeat
from attendance.services.photos import file_sha256, image_check, jpeg_file
from attendance.services.records import (
    MarkRequest,
    attendance_clear,
    attendance_mark,
    attendance_mark_many,
    attendance_restore,
    record_state,
    record_state_matches,
    require_on_roster,
)
from attendance.validators import has_control_characters
from facerec.model import backbone_key

logger = logging.getLogger(__name__)
DATABASE_DOWN = (OperationalError, InterfaceError)
Decision = DetectedFace.Decision
HUMAN_DECISIONS = (Decision.CONFIRMED, Decision.CORRECTED)


# --- upload -------------------------------------------------------------------------------------


@transaction.atomic
def capture_create(
    *,
    session: ClassSession,
    image_file: File,
    source: str,
    by: User | None,
    idempotency_key: str = "",
) -> Capture:
    """Check and save a class photo, then enqueue its processing once the transaction commits.

    After the commit ``capture.enqueued`` says whether the broker took the task (False: the
    broker is down; the capture stays "queued" and the periodic sweep sends it later).

    With an ``idempotency_key`` (a client's retry of the same upload), the capture saved first
    under that key for this user and session is returned instead, with ``replayed`` True. The
    same photo (by its SHA-256) uploaded to the session again returns the capture it made the
    first time, with ``duplicate`` True: one photo never gives a second set of faces.
    """
    if idempotency_key:
        _check_key(idempotency_key)
        earlier = _capture_for_key(session, by, idempotency_key)
        if earlier is not None:
            return earlier
    digest = file_sha256(image_file)
    same_photo = _capture_for_photo(session, digest)
    if same_photo is not None:
        return same_photo
    if not session.is_open:
        raise Conflict(
            "This session is finalized; reopen it before adding photos.", code="session_finalized"
        )
    if source not in Capture.Source.values:
        raise InvalidInput(f"Unknown capture source {source!r}.", code="invalid_source")
    checked = image_check(image_file)
    capture = Capture(
        session=session,
        source=source,
        taken_by=by,
        state=Capture.State.QUEUED,
        width=checked.width,
        height=checked.height,
        idempotency_key=idempotency_key,
        content_sha256=digest,
    )
    capture.image.save(checked.filename, image_file, save=False)
    capture.full_clean(validate_constraints=False)
    try:
        # Two retries of one upload can arrive together: the unique constraint lets one insert
        # win; the other finds the winner's capture once its transaction has committed.
        with transaction.atomic():
            capture.save()
    except IntegrityError:
        if capture.image.name:
            capture.image.storage.delete(capture.image.name)
        earlier = _capture_for_key(session, by, idempotency_key) if idempotency_key else None
        earlier = earlier or _capture_for_photo(session, digest)
        if earlier is None:
            raise
        return earlier
    capture.enqueued, capture.replayed = None, False

    def enqueue() -> None:
        from attendance import tasks

        capture.enqueued = tasks.enqueue_capture(capture.pk)

    transaction.on_commit(enqueue)
    return capture


def _check_key(key: str) -> None:
    if len(key) > 128 or has_control_characters(key):
        raise InvalidInput(
            "The Idempotency-Key must be at most 128 printable characters.",
            code="invalid_idempotency_key",
        )


def _capture_for_key(session: ClassSession, by: User | None, key: str) -> Capture | None:
    capture = Capture.objects.filter(session=session, taken_by=by, idempotency_key=key).first()
    if capture is not None:
        # Already sent (or left for the sweep when the broker was down): nothing to enqueue.
        capture.enqueued, capture.replayed = None, True
    return capture


def _capture_for_photo(session: ClassSession, digest: str) -> Capture | None:
    capture = Capture.objects.filter(session=session, content_sha256=digest).first()
    if capture is not None:
        capture.enqueued, capture.duplicate = None, True
    return capture


def capture_reprocess(*, capture: Capture) -> bool:
    """Run a capture through the pipeline again (e.g. after new reference photos).

    The capture goes back to "queued" first, so that with the broker down (False is returned)
    the sweep still sends it once the broker is back.
    """
    from attendance import tasks

    if not capture.session.is_open:
        raise Conflict(
            "This session is finalized; reopen it before reprocessing.", code="session_finalized"
        )
    with transaction.atomic():
        capture = Capture.objects.select_for_update().get(pk=capture.pk)
        if capture.state != Capture.State.PROCESSING:
            capture.state = Capture.State.QUEUED
            capture.save(update_fields=["state", "updated_at"])
    return tasks.enqueue_capture(capture.pk, force=True)


# --- the pipeline -------------------------------------------------------------------------------


@dataclass
class CaptureAnalysis:
    """What the pipeline found in one photo. ``timings`` are seconds per stage."""

    width: int
    height: int
    faces: list = field(default_factory=list)  # facerec.AnalyzedFace
    matches: list = field(default_factory=list)  # facerec.Match, same order
    too_small: list = field(default_factory=list)  # facerec.TooSmallFace, never matched
    timings: dict[str, float] = field(default_factory=dict)


def match_thresholds() -> tuple[float | None, float | None]:
    return settings.ROLLCALL_MATCH_THRESHOLD, settings.ROLLCALL_REVIEW_THRESHOLD


def capture_analyze(
    *,
    data: bytes,
    gallery: Gallery,
    calibrated_threshold: float | None = None,
    model: FaceModel | None = None,
) -> CaptureAnalysis:
    """Decode, detect, align, embed (all faces in one batch) and match one photo.

    calibrated_threshold: the course's own accept threshold (``gallery_calibration``); the
    model's when None. ROLLCALL_MATCH_THRESHOLD, when set, overrides both. A face too small,
    blurred or dark to be sure of is never matched automatically (its
    quality goes to ``facerec.match_faces``).
    model: the version to embed and match with (its head, review threshold and margin); the
    shipped model when None.
    The same function serves the Celery task and the attendance benchmark
    (``python -m benchmarks attendance``).
    """
    import facerec

    timings: dict[str, float] = {}
    start = time.perf_counter()
    pixels = facerec.load_image(data, max_pixels=settings.ROLLCALL_MAX_IMAGE_PIXELS)
    timings["decode"] = time.perf_counter() - start
    stages_ms: dict[str, float] = {}
    head = None if model is None else face_models.model_head(model)
    analysis = facerec.analyze_photo(pixels, timings=stages_ms, head=head)
    faces = analysis.faces
    timings["detect"] = stages_ms.get("detect_ms", 0.0) / 1000
    timings["align"] = stages_ms.get("align_ms", 0.0) / 1000
    timings["embed"] = stages_ms.get("embed_ms", 0.0) / 1000
    start = time.perf_counter()
    threshold, review = match_thresholds()
    if model is not None:
        review = review or model.review_threshold
        calibrated_threshold = calibrated_threshold or model.threshold
    probes = np.stack([f.embedding for f in faces]) if faces else np.zeros((0, 0), np.float32)
    matches = facerec.match_faces(
        probes,
        gallery.embeddings,
        gallery.labels,
        threshold=threshold or calibrated_threshold,
        review_threshold=review,
        qualities=[f.quality for f in faces],
        margin=None if model is None else model.match_margin,
    )
    timings["match"] = time.perf_counter() - start
    return CaptureAnalysis(
        width=int(pixels.shape[1]),
        height=int(pixels.shape[0]),
        faces=faces,
        matches=matches,
        too_small=analysis.too_small,
        timings=timings,
    )


def match_confidence(distance: float | None) -> float | None:
    """0..1 for people: 1 at distance 0, 0.5 at the accept threshold, 0 at twice that."""
    if distance is None:
        return None
    import facerec

    threshold = settings.ROLLCALL_MATCH_THRESHOLD or facerec.model_info().threshold
    return float(min(1.0, max(0.0, 1.0 - 0.5 * distance / threshold)))


def capture_process(*, capture_id: int, force: bool = False) -> Capture | None:
    """The task's body: process one capture end to end. Returns the capture (None if deleted).

    The capture records the serving model version when it starts and finishes on it (its
    gallery, head and thresholds), even if another version starts serving meanwhile."""
    import facerec

    model = face_models.serving_model()
    version = model.version
    capture = _claim(capture_id, version, force)
    if capture is None:
        return Capture.objects.filter(pk=capture_id).first()
    logger.info("capture %s: processing in process %s", capture_id, os.getpid())
    started = time.perf_counter()
    # While this process works, the capture shows it is alive: the sweep sends again only a
    # capture nobody has touched for ROLLCALL_STUCK_AFTER_SECONDS (its worker died).
    alive = Capture.objects.filter(pk=capture_id, state=Capture.State.PROCESSING)
    try:
        with (
            heartbeat(alive, every=settings.ROLLCALL_HEARTBEAT_SECONDS),
            capture.image.open("rb") as handle,
        ):
            data = handle.read()
            if after_model_chosen is not None:
                after_model_chosen(capture_id)
            gallery = session_gallery(session=capture.session, model_version=version)
            calibration = gallery_calibration(
                course=capture.session.course, gallery=gallery, model_threshold=model.threshold
            )
            analysis = capture_analyze(
                data=data, gallery=gallery, calibrated_threshold=calibration.threshold, model=model
            )
    except facerec.FaceRecError as error:
        return _fail(capture_id, version, error.code, error.message)
    except FileNotFoundError:
        return _fail(capture_id, version, "file_missing", "The photo file is gone; upload again.")
    except DATABASE_DOWN:
        raise  # an outage, not this photo's fault: the task is tried again, the capture kept
    except Exception:
        # A bug or an exhausted machine: say so on the capture (instead of leaving it
        # "processing" for the sweep to retry forever), then let the task log the traceback.
        _fail(
            capture_id,
            version,
            "processing_error",
            'Processing failed unexpectedly; use "Process again" or upload the photo again.',
        )
        raise
    analysis.timings["read"] = time.perf_counter() - started - sum(analysis.timings.values())
    if before_biometric_write is not None:
        before_biometric_write(capture_id)
    return _save_analysis(capture_id, version, analysis, force=force)


# Tests set this to act after a capture chose its model version (e.g. switch to another one).
after_model_chosen: Callable[[int], None] | None = None
# Tests set this to act between the analysis and its write (e.g. withdraw a student's consent),
# the window that the consent re-check in ``_save_analysis`` closes.
before_biometric_write: Callable[[int], None] | None = None


@transaction.atomic
def _claim(capture_id: int, version: str, force: bool) -> Capture | None:
    """Lock the capture and mark it processing; None when there is nothing to do.

    A capture left "processing" by a killed worker is claimed again: its redelivered task (late
    acknowledgement) must be able to finish it.
    """
    capture = (
        Capture.objects.select_for_update().select_related("session").filter(pk=capture_id).first()
    )
    finished = capture is not None and capture.state in {Capture.State.DONE, Capture.State.FAILED}
    if capture is None or (finished and capture.model_version == version and not force):
        return None
    capture.state, capture.started_at = Capture.State.PROCESSING, timezone.now()
    capture.model_version = version  # the version it started with, and finishes on
    capture.save(update_fields=["state", "started_at", "model_version", "updated_at"])
    return capture


@transaction.atomic
def _fail(capture_id: int, version: str, code: str, message: str) -> Capture | None:
    capture = Capture.objects.select_for_update().filter(pk=capture_id).first()
    if capture is None:
        return None
    capture.state, capture.failure_code, capture.failure_reason = (
        Capture.State.FAILED,
        code,
        message,
    )
    capture.model_version, capture.finished_at = version, timezone.now()
    capture.save()
    webhooks.webhooks_emit(event="capture.done", payload=webhooks.capture_done_payload(capture))
    return capture


@transaction.atomic
def _save_analysis(
    capture_id: int, version: str, analysis: CaptureAnalysis, *, force: bool
) -> Capture | None:
    """Write faces and marks in one transaction under the capture's row lock, so that two runs
    of the same task (a redelivery racing the original) leave one set of faces and marks."""
    start = time.perf_counter()
    capture = (
        Capture.objects.select_for_update().select_related("session").filter(pk=capture_id).first()
    )
    if capture is None:
        return None
    if capture.state == Capture.State.DONE and capture.model_version == version and not force:
        return capture  # another run of this task finished first
    _forget_without_consent(analysis)
    faces = _store_faces(capture, analysis)
    notes = _mark_present(capture.session, faces, capture)
    analysis.timings["save"] = time.perf_counter() - start
    capture.state, capture.model_version = Capture.State.DONE, version
    capture.width, capture.height = analysis.width, analysis.height
    capture.timings = {k: round(v, 4) for k, v in analysis.timings.items()}
    capture.timings["total"] = round(sum(analysis.timings.values()), 4)
    capture.timings["faces"] = len(analysis.faces)
    capture.failure_code, capture.failure_reason = ("marks_skipped", notes) if notes else ("", "")
    capture.finished_at = timezone.now()
    capture.save()
    webhooks.webhooks_emit(event="capture.done", payload=webhooks.capture_done_payload(capture))
    return capture


def _forget_without_consent(analysis: CaptureAnalysis) -> None:
    """Re-check consent where biometrics are written: lock the matched students' rows (in id
    order, like the marks) and drop every match, candidate, crop and embedding of a student who
    withdrew consent (or was deleted) after the gallery was read. A withdrawal waits for this
    transaction, or this one sees it."""
    labels = {label for m in analysis.matches for label, _ in m.candidates}
    labels |= {m.label for m in analysis.matches if m.label is not None}
    # NO KEY UPDATE: enough to make consent_withdraw (FOR UPDATE) wait, without blocking the
    # inserts of marks that reference these students.
    allowed = set(
        Student.objects.select_for_update(no_key=True)
        .filter(pk__in=labels, consent_given_at__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if labels <= allowed:
        return
    for index, match in enumerate(analysis.matches):
        if match.label is not None and match.label not in allowed:
            analysis.faces[index] = replace(analysis.faces[index], embedding=None, crop=None)
            match = replace(match, label=None, distance=None, decision="unknown")
        analysis.matches[index] = replace(
            match, candidates=[(label, d) for label, d in match.candidates if label in allowed]
        )


def _store_faces(capture: Capture, analysis: CaptureAnalysis) -> list[DetectedFace]:
    """Create or update faces by index: the recognisable faces, then the ones too small to
    recognise. A face a person decided keeps that decision."""
    existing = {
        f.index: f for f in DetectedFace.objects.select_for_update().filter(capture=capture)
    }
    kept = {f.student_id for f in existing.values() if f.decision in HUMAN_DECISIONS}
    # Free students held by machine decisions first: the one-student-per-photo constraint is
    # checked row by row, and faces may swap students between runs.
    DetectedFace.objects.filter(capture=capture).exclude(decision__in=HUMAN_DECISIONS).update(
        student=None
    )
    found = list(zip(analysis.faces, analysis.matches, strict=True))
    found += [(small, None) for small in analysis.too_small]
    stored = []
    for index, (analyzed, match) in enumerate(found):
        face = existing.pop(index, None) or DetectedFace(capture=capture, index=index)
        redraw = _describe(face, analyzed, match)
        if face.decision not in HUMAN_DECISIONS:
            _decide_by_machine(face, match, kept)
        withheld = analyzed.crop is None  # a withdrawn student's face: nothing of it kept
        if withheld and face.crop:
            _delete_file_after_commit(face.crop)
            face.crop = ""
        elif redraw and not withheld:
            if face.crop:
                _delete_file_after_commit(face.crop)  # the crop of the old box
            face.crop.save("face.jpg", jpeg_file(analyzed.crop), save=False)
        if face.pk is not None:
            face.save()
        stored.append(face)
    # A new photo's faces in one insert (after the updated ones, which may have released their
    # students to them).
    DetectedFace.objects.bulk_create([face for face in stored if face.pk is None])
    for gone in existing.values():  # fewer faces than last time; the crop goes after commit
        gone.delete()
    return stored


def _delete_file_after_commit(file: FieldFile) -> None:
    delete_after_commit([file])


def _describe(face: DetectedFace, analyzed, match) -> bool:
    """Copy what the pipeline saw (a facerec AnalyzedFace and its Match, or a TooSmallFace and
    None) onto the row; True when the crop must be redrawn."""
    box = [int(v) for v in analyzed.face.box]
    redraw = not face.crop or face.box != box
    face.box, face.detector_score = box, float(analyzed.face.score)
    face.landmarks = [[round(x, 1), round(y, 1)] for x, y in analyzed.face.landmarks]
    embedding = getattr(analyzed, "embedding", None)
    face.embedding = None if embedding is None else embedding_to_bytes(embedding)
    backbone = getattr(analyzed, "backbone", None) if embedding is not None else None
    face.backbone_embedding = None if backbone is None else embedding_to_bytes(backbone)
    face.backbone_key = "" if backbone is None else backbone_key()
    face.candidates = [
        {"student_id": label, "distance": round(float(dist), 4)}
        for label, dist in (match.candidates if match is not None else [])
    ]
    return redraw


def _decide_by_machine(face: DetectedFace, match, kept: set[int | None]) -> None:
    """The pipeline's decision; ``match`` is None for a face too small to recognise."""
    if match is None:
        face.student, face.distance, face.decision = None, None, Decision.TOO_SMALL
        return
    taken = match.label is not None and match.label in kept
    face.student_id = None if taken else match.label
    face.decision = Decision.UNKNOWN if taken or match.label is None else match.decision
    face.distance = None if taken else match.distance


def _mark_present(session: ClassSession, faces: list[DetectedFace], capture: Capture) -> str:
    """Mark automatically matched students present, all in one ``attendance_mark_many``. A
    hand-set mark is never overwritten. Returns a note for the teacher when no mark was set."""
    matched = [f for f in faces if f.decision == Decision.AUTO and f.student_id]
    students = Student.objects.in_bulk([f.student_id for f in matched])
    on_roster = set(
        roster_students(session=session).filter(pk__in=students).values_list("pk", flat=True)
    )
    for face in matched:
        if face.student_id not in on_roster:  # unenrolled while the photo was processed
            logger.warning(
                "capture %s: %s is no longer on the roster", capture.pk, students[face.student_id]
            )
    requests = [
        MarkRequest(
            student=students[face.student_id],
            status=AttendanceRecord.Status.PRESENT,
            source=AttendanceRecord.Source.FACE,
            confidence=match_confidence(face.distance),
            face=face,
            reason=f"Recognised in capture #{capture.pk}.",
            overwrite_manual=False,
        )
        for face in matched
        if face.student_id in on_roster
    ]
    try:
        attendance_mark_many(session=session, requests=requests)
    except DomainError as error:
        if error.code == "session_finalized":
            return (
                "The session was finalized before this photo was processed; faces were "
                "saved but attendance was not changed."
            )
        logger.warning("capture %s: %s", capture.pk, error.message)
    return ""


# --- review by the teacher ----------------------------------------------------------------------


@transaction.atomic
def face_assign(*, face: DetectedFace, student: Student | None, by: User | None) -> DetectedFace:
    """A person decides who a face is (``student``), or that it is nobody on the roster (None).

    Assigning the face's own suggestion confirms it. The student is marked present by hand (a
    mark set by hand earlier, e.g. "late", stays). A student taken off a face loses the mark that
    face gave them, unless another face of this session still shows them. Another face of the
    same photo holding ``student`` is freed: one student is at most one face per photo.

    The faces and records touched are kept before and after in a ``face_reviewed`` audit event,
    which is what :func:`face_review_undo` puts back.
    """
    face = (
        DetectedFace.objects.select_for_update(of=("self",))
        .select_related("capture__session", "student")
        .get(pk=face.pk)
    )
    session = face.capture.session
    _require_open(session)
    if student is not None:
        require_on_roster(session=session, student=student)
    previous = face.student
    confirming = student is not None and previous == student
    others: list[DetectedFace] = []
    if student is not None and not confirming:
        others = list(
            DetectedFace.objects.select_for_update()
            .filter(capture_id=face.capture_id, student=student)
            .exclude(pk=face.pk)
        )
    touched = [face, *others]
    students = {s.pk for s in (previous, student) if s is not None}
    before = _review_state(session, touched, students)
    for other in others:
        other.student, other.distance = None, None
        _decide(other, Decision.CORRECTED, by)
    if not confirming:
        face.student, face.distance = student, None
    _decide(face, Decision.CONFIRMED if confirming else Decision.CORRECTED, by)
    if confirming:
        gallery.gallery_grow(face=face, by=by)
    else:  # a corrected face is never a reference, nor are the faces it freed
        gallery.gallery_forget(faces=[face, *others])
    if previous is not None and not confirming:
        _release(session, previous, face, by)
    verb = "confirmed" if confirming else "assigned" if student else "unassigned"
    if student is not None:
        attendance_mark(
            session=session,
            student=student,
            status=AttendanceRecord.Status.PRESENT,
            source=AttendanceRecord.Source.MANUAL,
            by=by,
            confidence=match_confidence(face.distance),
            face=face,
            reason=f"Face {face.index + 1} of capture #{face.capture_id} {verb} by hand.",
            overwrite_manual=False,
        )
    audit_event(
        action=AuditEvent.Action.FACE_REVIEWED,
        by=by,
        session=session,
        subject=f"Face {face.index + 1} of capture #{face.capture_id} {verb}",
        detail={
            "face": face.pk,
            "before": before,
            "after": _review_state(session, touched, students),
        },
    )
    return face


def _face_state(face: DetectedFace) -> dict:
    return {
        "student": face.student_id,
        "distance": face.distance,
        "decision": face.decision,
        "decided_by": face.decided_by_id,
        "decided_at": face.decided_at.isoformat() if face.decided_at else None,
    }


def _review_state(session: ClassSession, faces: list[DetectedFace], students: set[int]) -> dict:
    """The faces and the records of ``students`` as they are now; JSON keys are strings."""
    return {
        "faces": {str(f.pk): _face_state(f) for f in faces},
        "records": {
            str(pk): record_state(session=session, student_id=pk) for pk in sorted(students)
        },
    }


def _unchanged_since(
    session: ClassSession, faces: list[DetectedFace], students: list[int], after: dict
) -> bool:
    """Whether the faces and marks are still as a decision left them (``after``)."""
    if _review_state(session, faces, set())["faces"] != after["faces"]:
        return False
    return all(
        record_state_matches(
            after["records"][str(pk)], record_state(session=session, student_id=pk)
        )
        for pk in students
    )


@transaction.atomic
def face_review_undo(*, face: DetectedFace, by: User | None) -> DetectedFace:
    """Take back the last decision a person made on ``face`` (a confirm, an assign or an
    unassign): the faces it changed get their student, match and decision back (face
    recognition's suggestion, or the person's decision before), and every mark it changed goes
    back as it was. Audited as a ``face_review_undone`` event and one change per mark.

    Refused with ``nothing_to_undo`` when the face's last decision was undone already (or there
    was none), and with ``changed_since`` when a later decision changed one of those faces or
    marks again: undo would then throw away that later work.
    """
    face = (
        DetectedFace.objects.select_for_update(of=("self",))
        .select_related("capture__session")
        .get(pk=face.pk)
    )
    session = face.capture.session
    _require_open(session)
    name = f"Face {face.index + 1} of capture #{face.capture_id}"
    last = (
        AuditEvent.objects.filter(
            action__in=[AuditEvent.Action.FACE_REVIEWED, AuditEvent.Action.FACE_REVIEW_UNDONE],
            session=session,
            detail__face=face.pk,
        )
        .order_by("-at", "-pk")
        .first()
    )
    if last is None or last.action != AuditEvent.Action.FACE_REVIEWED:
        raise InvalidInput(f"{name}: there is no decision to undo.", code="nothing_to_undo")
    before, after = last.detail["before"], last.detail["after"]
    faces = DetectedFace.objects.select_for_update().in_bulk([int(pk) for pk in before["faces"]])
    students = [int(pk) for pk in before["records"]]
    if not _unchanged_since(session, list(faces.values()), students, after):
        raise Conflict(
            f"{name} or a mark it gave was changed since; undo is no longer possible.",
            code="changed_since",
        )
    # Two passes: a student moves between faces of one photo, and one student is one face.
    for pk, state in before["faces"].items():
        if faces[int(pk)].student_id != state["student"]:
            DetectedFace.objects.filter(pk=pk).update(student=None)
    for pk, state in before["faces"].items():
        DetectedFace.objects.filter(pk=pk).update(
            student_id=state["student"],
            distance=state["distance"],
            decision=state["decision"],
            decided_by_id=state["decided_by"],
            decided_at=state["decided_at"],
        )
    # A face no longer confirmed is no reference either (an undone confirm, say).
    gallery.gallery_forget(
        faces=[f for pk, f in faces.items() if before["faces"][str(pk)]["decision"] != "confirmed"]
    )
    for student in Student.objects.filter(pk__in=students).order_by("pk"):
        attendance_restore(
            session=session,
            student=student,
            state=before["records"][str(student.pk)],
            by=by,
            reason=f"Undo: {last.subject}.",
        )
    audit_event(
        action=AuditEvent.Action.FACE_REVIEW_UNDONE,
        by=by,
        session=session,
        subject=f"{last.subject}, undone",
        detail={"face": face.pk, "undoes": last.pk},
    )
    face.refresh_from_db()
    return face


def face_confirm(*, face: DetectedFace, by: User | None) -> DetectedFace:
    """Accept the suggested student of a face (e.g. a "needs review" match)."""
    if face.student_id is None:
        raise InvalidInput(
            "This face has no suggested student; choose a student to assign instead.",
            code="nothing_to_confirm",
        )
    return face_assign(face=face, student=face.student, by=by)


def _require_open(session: ClassSession) -> None:
    if not session.is_open:
        raise Conflict(
            "This session is finalized; reopen it before changing faces.", code="session_finalized"
        )


def _decide(face: DetectedFace, decision: str, by: User | None) -> DetectedFace:
    face.decision, face.decided_by, face.decided_at = decision, by, timezone.now()
    face.save()
    return face


def _release(session: ClassSession, student: Student, face: DetectedFace, by: User | None) -> None:
    """Undo the mark ``face`` gave ``student``, unless another face of the session still shows
    them or the mark did not come from this face (a mark set by hand stays)."""
    still_seen = DetectedFace.objects.filter(
        capture__session=session,
        student=student,
        decision__in=[Decision.AUTO, Decision.CONFIRMED, Decision.CORRECTED],
    ).exists()
    record = AttendanceRecord.objects.filter(session=session, student=student).first()
    if still_seen or record is None or record.face_id != face.pk:
        return
    attendance_clear(
        session=session,
        student=student,
        by=by,
        reason=f"Face {face.index + 1} of capture #{face.capture_id} is not them.",
    )


# --- recovery -----------------------------------------------------------------------------------


def captures_needing_work(*, queued_for: float, processing_for: float):
    """Captures whose task may have been lost: queued longer than ``queued_for`` seconds (the
    broker was down when they were saved) or processing with no sign of life for
    ``processing_for`` seconds (the worker's heartbeat stopped: it died)."""
    now = timezone.now()
    # updated_at, not created_at: a capture queued again by "process again" counts from then,
    # and a processing one from its worker's last heartbeat.
    queued = Capture.objects.filter(
        state=Capture.State.QUEUED, updated_at__lte=now - timedelta(seconds=queued_for)
    )
    stuck = Capture.objects.filter(
        state=Capture.State.PROCESSING,
        updated_at__lte=now - timedelta(seconds=processing_for),
    )
    return (queued | stuck).order_by("pk")


def captures_sweep(*, queued_for: float, processing_for: float) -> int:
    """Enqueue every capture whose task may have been lost. Returns how many were sent.

    Each one is put back to "queued" first, counted from now: the sweeps that follow (beat's,
    and those that piled up while a restarted worker loaded its models) leave it alone for
    ``queued_for`` seconds instead of sending it again each time. Sending one twice is still
    harmless: the task does nothing for a capture already done.
    """
    from attendance import tasks

    sent = 0
    for capture_id in captures_needing_work(
        queued_for=queued_for, processing_for=processing_for
    ).values_list("pk", flat=True):
        Capture.objects.filter(
            pk=capture_id, state__in=[Capture.State.QUEUED, Capture.State.PROCESSING]
        ).update(state=Capture.State.QUEUED, updated_at=timezone.now())
        if not tasks.enqueue_capture(capture_id):
            break
        sent += 1
    return sent
