"""Background jobs: a roster import (CSV and photos ZIP), an upload of several class photos, and an
upload of several reference photos of one student.

The request only checks that the input can be read (a roster that is not CSV, a ZIP with a path
leaving its folder: refused at once, nothing stored), stores the files and answers with the job to
poll. The worker (``job_run``) works through the items in batches. Each batch is one transaction
holding the job's row lock: the lines it applies, their report lines and the new ``done`` count
commit together. A worker killed mid-batch loses only the uncommitted batch, and the job, sent
again by the sweep, resumes at ``done``: every line is applied exactly once and reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any

from django.contrib.auth.models import User
from django.core.files.base import File
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from attendance.errors import Conflict, DomainError, InvalidInput
from attendance.files import delete_after_commit
from attendance.models import Capture, ClassSession, Job, ReferencePhoto, Student
from attendance.services import imports
from attendance.services.photos import no_consent_error, reference_photo_add

logger = logging.getLogger(__name__)
# Items per transaction: at most a few seconds of work each, so the progress moves and a batch
# always commits well within ROLLCALL_JOB_STALLED_AFTER_SECONDS (the sweep's sign of a dead
# worker).
ROSTER_BATCH = 500
ZIP_PHOTO_BATCH = 20
CAPTURE_BATCH = 1  # a large class photo takes seconds to decode and check
MAX_PHOTOS = 200


# --- starting a job (in the request) ------------------------------------------------------------


@transaction.atomic
def roster_import_start(*, roster_file: File | None, photos_zip: File | None, by: User) -> Job:
    """Check the files can be read, store them, and enqueue the import after the commit."""
    if roster_file is None and photos_zip is None:
        raise InvalidInput("Choose a roster CSV, a photos ZIP, or both.", code="no_file")
    total = 0
    if roster_file is not None:
        total += len(imports.roster_read(roster_file))
        roster_file.seek(0)
    if photos_zip is not None:
        total += max(1, len(imports.zip_read(photos_zip)))
        photos_zip.seek(0)
    job = Job(kind=Job.Kind.ROSTER_IMPORT, created_by=by, total=total)
    if roster_file is not None:
        job.roster.save("roster.csv", roster_file, save=False)
    if photos_zip is not None:
        job.photos.save("photos.zip", photos_zip, save=False)
    job.save()
    _enqueue_after_commit(job)
    return job


@transaction.atomic
def roster_import_preview(*, roster_file: File | None, photos_zip: File | None, by: User) -> Job:
    """The dry run: check and store the files like ``roster_import_start`` and write in the
    job's report what importing them would do, line by line, changing nothing else. The job
    waits in PREVIEW until ``roster_import_confirm``."""
    if roster_file is None and photos_zip is None:
        raise InvalidInput("Choose a roster CSV, a photos ZIP, or both.", code="no_file")
    rows = imports.roster_read(roster_file) if roster_file is not None else []
    entries = imports.zip_read(photos_zip) if photos_zip is not None else None
    lines = imports.roster_plan(rows=rows, by=by).lines
    if entries is not None:
        lines += imports.photos_plan(entries=entries, roster=rows).lines
    job = Job(
        kind=Job.Kind.ROSTER_IMPORT,
        state=Job.State.PREVIEW,
        created_by=by,
        total=len(rows) + (max(1, len(entries)) if entries is not None else 0),
        report=[asdict(line) for line in lines],
    )
    for field, upload, name in (
        (job.roster, roster_file, "roster.csv"),
        (job.photos, photos_zip, "photos.zip"),
    ):
        if upload is not None:
            upload.seek(0)
            field.save(name, upload, save=False)
    job.save()
    return job


@transaction.atomic
def roster_import_confirm(*, job: Job, by: User) -> Job:
    """Import the files of a previewed job: it becomes an ordinary queued job (its report fills
    again as the lines are applied). Confirming twice imports once."""
    locked = Job.objects.select_for_update().get(pk=job.pk)
    if locked.state != Job.State.PREVIEW:
        return locked
    locked.state, locked.report = Job.State.QUEUED, []
    locked.save(update_fields=["state", "report", "updated_at"])
    _enqueue_after_commit(locked)
    return locked


# A preview nobody imported holds a roster and maybe a ZIP of faces: not kept longer than this.
PREVIEW_KEPT = timedelta(hours=24)


@transaction.atomic
def previews_expire(*, now=None) -> int:
    """Delete previews older than PREVIEW_KEPT that were never imported, with their files (the
    retention task runs this). Returns how many."""
    cutoff = (now or timezone.now()) - PREVIEW_KEPT
    stale = list(
        Job.objects.select_for_update().filter(state=Job.State.PREVIEW, created_at__lte=cutoff)
    )
    delete_after_commit(f for job in stale for f in (job.roster, job.photos))
    Job.objects.filter(pk__in=[job.pk for job in stale]).delete()
    return len(stale)


@transaction.atomic
def capture_upload_start(*, session: ClassSession, image_files: list[File], by: User) -> Job:
    """Store several class photos as they came and let the worker check and save each one as a
    capture: decoding twenty phone photos takes longer than a request may."""
    if not session.is_open:
        raise Conflict(
            "This session is finalized; reopen it before adding photos.", code="session_finalized"
        )
    _check_count(image_files)
    job = Job(kind=Job.Kind.CAPTURE_UPLOAD, created_by=by, session=session)
    return _store_images(job, image_files)


@transaction.atomic
def reference_photos_upload_start(*, student: Student, image_files: list[File], by: User) -> Job:
    """Store several reference photos of ``student`` as they came; the worker checks and adds
    each one (then each is embedded like a single upload). Without recorded consent nothing is
    stored: the request is refused at once."""
    student = Student.objects.select_for_update().get(pk=student.pk)
    if not student.has_photo_consent:
        raise no_consent_error(student)
    _check_count(image_files)
    job = Job(kind=Job.Kind.REFERENCE_PHOTOS, created_by=by, student=student)
    return _store_images(job, image_files)


def _check_count(image_files: list[File]) -> None:
    if len(image_files) > MAX_PHOTOS:
        raise InvalidInput(
            f"At most {MAX_PHOTOS} photos at once; upload the rest separately.",
            code="too_many_files",
        )


def _store_images(job: Job, image_files: list[File]) -> Job:
    storage = job.roster.storage
    images = []
    for upload in image_files:
        path = storage.save(job.roster.field.generate_filename(job, "upload.bin"), upload)
        images.append({"name": PurePosixPath(upload.name or "photo").name[:200], "path": path})
    job.images, job.total = images, len(images)
    job.save()
    _enqueue_after_commit(job)
    return job


def _enqueue_after_commit(job: Job) -> None:
    job.enqueued = None

    def enqueue() -> None:
        from attendance import tasks

        job.enqueued = tasks.enqueue_job(job.pk)

    transaction.on_commit(enqueue)


# --- running a job (in the worker) --------------------------------------------------------------


def job_run(*, job_id: int) -> Job | None:
    """The task's body: work through the job from where it stopped. Safe to run twice, even at
    the same time (batches take the job's row lock and re-read ``done``)."""
    job = _claim(job_id)
    if job is None:
        return Job.objects.filter(pk=job_id).first()
    if job.kind in (Job.Kind.FACE_MODEL_TRAIN, Job.Kind.FACE_MODEL_SWITCH):
        from attendance.services.face_models import face_model_job_run

        try:
            failed = face_model_job_run(job)
        except Exception:
            _finish(job_id, failed="The job stopped unexpectedly; see the worker's log.")
            raise
        return _finish(job_id, failed=failed)
    try:
        if job.kind == Job.Kind.ROSTER_IMPORT:
            _run_roster_import(job)
        elif job.kind == Job.Kind.REFERENCE_PHOTOS:
            _run_reference_photos(job)
        else:
            _run_capture_upload(job)
    except (OperationalError, InterfaceError):
        raise  # the database is away: the task is tried again and resumes at ``done``
    except Exception:
        # Say so on the job (a page is polling it) rather than leave it running forever.
        _finish(job_id, failed="The job stopped unexpectedly; the lines listed were imported.")
        raise
    return _finish(job_id)


@transaction.atomic
def _claim(job_id: int) -> Job | None:
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.is_finished:
        return None
    job.state = Job.State.RUNNING
    job.started_at = job.started_at or timezone.now()
    job.save(update_fields=["state", "started_at", "updated_at"])
    return job


def _run_batches(job: Job, size: int, count: int, apply) -> None:
    """``apply(start, stop, report)`` for each batch of the ``count`` items not done yet."""
    while True:
        with transaction.atomic():
            locked = Job.objects.select_for_update().get(pk=job.pk)
            start = locked.done - job.offset
            if locked.is_finished or start >= count:
                return
            stop = min(count, start + size)
            report = imports.ImportReport()
            apply(start, stop, report)
            locked.report = [*locked.report, *(asdict(line) for line in report.lines)]
            locked.done += stop - start
            locked.save(update_fields=["report", "done", "updated_at"])


def _run_roster_import(job: Job) -> None:
    job.offset = 0
    creator = job.created_by
    if job.roster:
        with job.roster.open("rb") as handle:
            rows = imports.roster_read(handle)
        _run_batches(
            job,
            ROSTER_BATCH,
            len(rows),
            lambda a, b, report: imports.roster_rows_import(report, rows[a:b], creator),
        )
        job.offset = len(rows)
    if job.photos:
        with job.photos.open("rb") as handle:
            entries = imports.zip_read(handle)

            def apply(a: int, b: int, report: imports.ImportReport) -> None:
                if not entries:
                    report.add("photos", "skipped", "The ZIP holds no photos.")
                imports.photo_entries_import(report, entries[a:b], creator)

            _run_batches(job, ZIP_PHOTO_BATCH, max(1, len(entries)), apply)


def _run_capture_upload(job: Job) -> None:
    from attendance.services.captures import capture_create

    session = job.session
    if session is None:  # the session was deleted meanwhile (its jobs go with it)
        return

    def create(image_file: File) -> Any:
        return capture_create(
            session=session,
            image_file=image_file,
            source=Capture.Source.UPLOAD,
            by=job.created_by,
        )

    _run_image_uploads(job, create, noun="capture", next_step="queued for processing")


def _run_reference_photos(job: Job) -> None:
    student = job.student
    if student is None:  # the student was deleted meanwhile (their jobs go with them)
        return

    def create(image_file: File) -> Any:
        return reference_photo_add(student=student, image_file=image_file, by=job.created_by)

    _run_image_uploads(job, create, noun="photo", next_step="its face is checked next")


def _run_image_uploads(
    job: Job, create: Callable[[File], Any], *, noun: str, next_step: str
) -> None:
    """Each stored image of ``job`` on its own: ``create`` (a service that stores it and queues
    its processing) in a transaction, or nothing; a line per image in the report."""
    job.offset = 0
    storage = job.roster.storage

    def apply(a: int, b: int, report: imports.ImportReport) -> None:
        for image in job.images[a:b]:
            where = image["name"]
            try:
                with transaction.atomic(), storage.open(image["path"], "rb") as handle:
                    row = create(File(handle, name=image["name"]))
            except DomainError as error:
                report.add(where, "skipped", error.message)
            except FileNotFoundError:
                report.add(where, "skipped", "The uploaded file is gone; upload it again.")
            else:
                if row.duplicate:
                    message = f"the same photo as {noun} #{row.pk}; nothing new stored"
                    report.add(where, "skipped", message)
                else:
                    report.add(where, "created", f"{noun} #{row.pk}, {next_step}")

    _run_batches(job, CAPTURE_BATCH, len(job.images), apply)


@transaction.atomic
def _finish(job_id: int, failed: str = "") -> Job | None:
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.is_finished:
        return job
    job.state = Job.State.FAILED if failed else Job.State.DONE
    job.failure_reason, job.finished_at = failed, timezone.now()
    job.save()
    if not failed:
        _delete_inputs_after_commit(job)
    return job


def _delete_inputs_after_commit(job: Job) -> None:
    # The inputs hold biometric photos: once every line is imported they are not kept.
    storage = job.roster.storage
    names = [f.name for f in (job.roster, job.photos) if f] + [i["path"] for i in job.images]

    def delete() -> None:
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete)


# --- reading a job ------------------------------------------------------------------------------


def job_counts(job: Job) -> dict[str, int]:
    counts = {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    for line in job.report:
        counts[line["outcome"]] = counts.get(line["outcome"], 0) + 1
    return counts


def job_photo_checks(job: Job) -> dict[int, ReferencePhoto]:
    """The reference photos a roster import added, by id, with their face check's state: each
    is checked by its own task after the import, so a finished job's page keeps polling until
    none is pending. A photo deleted since (consent withdrawn) is left out."""
    ids = [line["photo"] for line in job.report if line.get("photo")]
    return ReferencePhoto.objects.only("id", "status", "rejection_reason").in_bulk(ids)


def job_summary(job: Job) -> str:
    return ", ".join(f"{n} {outcome}" for outcome, n in job_counts(job).items())


# --- recovery -----------------------------------------------------------------------------------


def jobs_needing_work(*, queued_for: float, stalled_for: float):
    """Jobs whose task may have been lost: queued longer than ``queued_for`` seconds, or running
    with no batch committed for ``stalled_for`` seconds (their worker died)."""
    now = timezone.now()
    return Job.objects.filter(
        Q(state=Job.State.QUEUED, created_at__lte=now - timedelta(seconds=queued_for))
        | Q(state=Job.State.RUNNING, updated_at__lte=now - timedelta(seconds=stalled_for))
    ).order_by("pk")


def jobs_sweep(*, queued_for: float, stalled_for: float) -> int:
    from attendance import tasks

    sent = 0
    for job_id in jobs_needing_work(queued_for=queued_for, stalled_for=stalled_for).values_list(
        "pk", flat=True
    ):
        if not tasks.enqueue_job(job_id):
            break
        sent += 1
    return sent
