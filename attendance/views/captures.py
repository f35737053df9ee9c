"""Capture pages: upload or webcam, live progress, review of faces; reference photos
and the bulk roster import for admins.

Views are thin: ownership through selectors (others get 404), one service call, a clear 4xx with
the service's message when the input is refused.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from attendance.errors import DomainError
from attendance.forms.captures import FaceAssignForm
from attendance.forms.imports import RosterImportForm
from attendance.models import AttendanceRecord, Capture, ReferencePhoto, Student
from attendance.selectors.access import (
    capture_get,
    faces_visible_to,
    session_get,
    students_visible_to,
)
from attendance.selectors.captures import capture_faces, capture_status, faces_suggestable
from attendance.selectors.sessions import session_pending_review, session_roster
from attendance.services import captures as capture_services
from attendance.services import imports as import_services
from attendance.services import jobs as job_services
from attendance.services import photos as photo_services
from attendance.views.confirm import ask_first
from attendance.views.errors import Undo, error_json, offer_undo, run_service, wants_json
from attendance.views.guards import admin_required
from attendance.views.reports import csv_download

# --- captures -----------------------------------------------------------------------------------


@require_POST
@login_required
def capture_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """One or more class photos (``images``) or one webcam frame (``frame``). Each good file is
    saved and queued even when another is refused; the answer lists both."""
    session = session_get(user=request.user, pk=pk)
    files = [(f, Capture.Source.UPLOAD) for f in request.FILES.getlist("images")]
    files += [(f, Capture.Source.WEBCAM) for f in request.FILES.getlist("frame")]
    if not files:
        return _upload_answer(request, session, [], [("", "Choose a photo to upload.")])
    if len(files) > 1:
        return _upload_job(request, session, [upload for upload, _ in files])
    saved, refused = [], []
    for upload, source in files:
        try:
            capture = capture_services.capture_create(
                session=session, image_file=upload, source=source, by=request.user
            )
        except DomainError as error:
            refused.append((upload.name, error.message, error.code))
            continue
        saved.append(capture)
    return _upload_answer(request, session, saved, refused)


def _upload_job(request: HttpRequest, session, uploads: list) -> HttpResponse:
    """Several photos: stored as they came, checked and saved one by one by a background job
    (decoding twenty phone photos takes longer than a request may)."""
    try:
        job = job_services.capture_upload_start(
            session=session, image_files=uploads, by=request.user
        )
    except DomainError as error:
        if wants_json(request):
            return error_json(error)
        messages.error(request, error.message)
        return redirect("attendance:session_detail", pk=session.pk)
    return _job_answer(request, job, f"{len(uploads)} photos received")


def _job_answer(request: HttpRequest, job, what: str) -> HttpResponse:
    url = reverse("attendance:job_detail", args=[job.pk])
    if job.enqueued is False:
        message = (
            f"{what}. The processing queue cannot be reached right now; they are kept and "
            "will be processed as soon as it is back."
        )
    else:
        message = f"{what}; they are processed in the background."
    if wants_json(request):
        body = {
            "job": {"id": job.pk, "state": job.state, "total": job.total},
            "job_url": url,
            "status_url": reverse("attendance:job_status", args=[job.pk]),
            "queued": job.enqueued is not False,
            "message": message,
        }
        response = JsonResponse(body, status=202)
        response["Location"] = url
        return response
    messages.success(request, message)
    return redirect(url)


def _queued_message(captures: list[Capture]) -> str:
    if any(c.enqueued is False for c in captures):
        return (
            "Saved and queued. The processing queue cannot be reached right now; the photo is "
            "kept and will be processed as soon as it is back."
        )
    return "Saved and queued for processing; this page updates by itself."


def _upload_answer(request, session, saved: list[Capture], refused: list) -> HttpResponse:
    refused = [(r[0], r[1], r[2] if len(r) > 2 else "no_file") for r in refused]
    if wants_json(request):
        body = {
            "captures": [
                {
                    "id": c.pk,
                    "state": c.state,
                    "queued": c.enqueued is not False,
                    "status_url": reverse("attendance:capture_status", args=[c.pk]),
                    "url": reverse("attendance:capture_detail", args=[c.pk]),
                }
                for c in saved
            ],
            "message": _queued_message(saved) if saved else "",
            "errors": [{"file": n, "message": m, "code": code} for n, m, code in refused],
        }
        return JsonResponse(body, status=400 if refused else 201)
    if not refused:
        messages.success(request, f"{len(saved)} photo(s): {_queued_message(saved)}")
        return redirect("attendance:session_detail", pk=session.pk)
    context = {
        "title": "Some photos were not accepted" if saved else "The photo was not accepted",
        "saved": [f"Photo #{c.pk}" for c in saved],
        "saved_message": _queued_message(saved) if saved else "",
        "refused": refused,
        "back": reverse("attendance:session_detail", args=[session.pk]),
    }
    return render(request, "attendance/captures/upload_result.html", context, status=400)


@require_GET
@login_required
def capture_status_view(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(capture_status(capture=capture_get(user=request.user, pk=pk)))


@login_required
def capture_detail(request: HttpRequest, pk: int) -> HttpResponse:
    capture = capture_get(user=request.user, pk=pk)
    session = capture.session
    roster = session_roster(session=session)
    names = {line.student.pk: line.student.full_name for line in roster}
    faces = list(capture_faces(capture=capture))
    suggestable = faces_suggestable(faces=faces)
    for face in faces:
        # One "match" scale everywhere: 0-100 %, higher is better (never a raw distance).
        face.match = _percent(capture_services.match_confidence(face.distance))
        face.candidate_matches = [
            (
                names.get(c["student_id"], "?"),
                _percent(capture_services.match_confidence(c["distance"])),
            )
            for c in face.candidates
            if c["student_id"] in suggestable
        ]
    context = {
        "capture": capture,
        "session": session,
        "faces": faces,
        "roster": roster,
        "unmarked": [line.student for line in roster if line.record is None],
        "pending": session_pending_review(session=session),
        "statuses": AttendanceRecord.Status.choices,
        "status": capture_status(capture=capture),
        # Numbers are drawn in the photo's pixels: scale them so they read at any photo size.
        "label_size": max(18, (capture.width or 0) // 30),
        "timings": [
            (stage, capture.timings[stage])
            for stage in ("decode", "detect", "align", "embed", "match", "save")
            if stage in capture.timings
        ],
    }
    return render(request, "attendance/captures/detail.html", context)


def _percent(confidence: float | None) -> int | None:
    return None if confidence is None else round(confidence * 100)


def _face_action(request: HttpRequest, pk: int, call, *, undoable: bool = True) -> HttpResponse:
    """Run a face decision; its answer (JSON or the next page) offers its Undo."""
    face = get_object_or_404(faces_visible_to(request.user).select_related("capture"), pk=pk)
    try:
        message = call(face)
    except DomainError as error:
        if wants_json(request):
            return error_json(error)
        messages.error(request, error.message)
        return redirect("attendance:capture_detail", pk=face.capture_id)
    undo = Undo(reverse("attendance:face_undo", args=[face.pk])) if undoable else None
    if wants_json(request):
        return JsonResponse({"message": message, **({"undo": undo.as_json()} if undo else {})})
    messages.success(request, message)
    offer_undo(request, undo)
    return redirect(f"{reverse('attendance:capture_detail', args=[face.capture_id])}#faces")


@require_POST
@login_required
def face_assign(request: HttpRequest, pk: int) -> HttpResponse:
    form = FaceAssignForm(request.POST)
    if not form.is_valid():
        text = f"Nothing was changed: {form.errors.as_text()}"
        if wants_json(request):
            return JsonResponse({"error": {"code": "invalid_input", "message": text}}, status=400)
        return HttpResponse(text, status=400)

    def call(face) -> str:
        student_id = form.cleaned_data["student"]
        # Only who may be seen is checked here; the roster is the service's rule.
        student = (
            get_object_or_404(students_visible_to(request.user), pk=student_id)
            if student_id
            else None
        )
        capture_services.face_assign(face=face, student=student, by=request.user)
        who = student.full_name if student else "nobody on the roster"
        return f"Face {face.index + 1} is now {who}."

    return _face_action(request, pk, call)


@require_POST
@login_required
def face_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    def call(face) -> str:
        face = capture_services.face_confirm(face=face, by=request.user)
        return f"Face {face.index + 1} confirmed: {face.student.full_name} is present."

    return _face_action(request, pk, call)


@require_POST
@login_required
def face_undo(request: HttpRequest, pk: int) -> HttpResponse:
    def call(face) -> str:
        face = capture_services.face_review_undo(face=face, by=request.user)
        who = face.student.full_name if face.student else "unknown"
        return f"Face {face.index + 1} is back to {who} ({face.get_decision_display().lower()})."

    return _face_action(request, pk, call, undoable=False)


@require_POST
@login_required
def capture_reprocess(request: HttpRequest, pk: int) -> HttpResponse:
    capture = capture_get(user=request.user, pk=pk)
    run_service(
        request,
        lambda: capture_services.capture_reprocess(capture=capture),
        lambda sent: (
            "Queued for processing again."
            if sent
            else "Queued; the processing queue cannot be reached right now, it will run once it is "
            "back."
        ),
    )
    return redirect("attendance:capture_detail", pk=capture.pk)


# --- reference photos (admins) ------------------------------------------------------------------


@require_POST
@admin_required
def photo_add(request: HttpRequest, pk: int) -> HttpResponse:
    student = get_object_or_404(Student, pk=pk)
    uploads = request.FILES.getlist("photos")
    if len(uploads) > 1:
        return _photos_job(request, student, uploads)
    saved, refused = [], []
    if not uploads:
        refused.append(("", "Choose a photo to upload.", "no_file"))
    for upload in uploads:
        try:
            saved.append(
                photo_services.reference_photo_add(
                    student=student, image_file=upload, by=request.user
                )
            )
        except DomainError as error:
            refused.append((upload.name, error.message, error.code))
            if error.code == "no_consent":
                break
    if not refused:
        later = any(photo.enqueued is False for photo in saved)
        messages.success(
            request,
            f"{len(saved)} photo(s) added; "
            + (
                "the processing queue cannot be reached right now, they will be checked when "
                "the queue is back."
                if later
                else "each is checked in the background."
            ),
        )
        return redirect(f"{reverse('attendance:student_detail', args=[student.pk])}#photos")
    context = {
        "title": "Some photos were not added" if saved else "The photo was not added",
        "saved": [f"Photo #{p.pk}" for p in saved],
        "saved_message": "Added; checked in the background." if saved else "",
        "refused": refused,
        "back": reverse("attendance:student_detail", args=[student.pk]),
    }
    status = 409 if any(code == "no_consent" for _, _, code in refused) else 400
    return render(request, "attendance/captures/upload_result.html", context, status=status)


def _photos_job(request: HttpRequest, student: Student, uploads: list) -> HttpResponse:
    """Several reference photos: stored as they came, checked and added one by one by a
    background job, like several class photos. Without consent nothing is stored (409)."""
    try:
        job = job_services.reference_photos_upload_start(
            student=student, image_files=uploads, by=request.user
        )
    except DomainError as error:
        if wants_json(request):
            return error_json(error)
        context = {
            "title": "The photos were not added",
            "saved": [],
            "refused": [("", error.message, error.code)],
            "back": reverse("attendance:student_detail", args=[student.pk]),
        }
        return render(
            request,
            "attendance/captures/upload_result.html",
            context,
            status=error.http_status,
        )
    return _job_answer(request, job, f"{len(uploads)} photos received")


@require_POST
@admin_required
def photo_delete(request: HttpRequest, pk: int) -> HttpResponse:
    photo = get_object_or_404(ReferencePhoto.objects.select_related("student"), pk=pk)
    student_id = photo.student_id
    asked = ask_first(
        request,
        question=f"Delete this reference photo of {photo.student.full_name}?",
        yes="Yes, delete the photo",
        back=f"{reverse('attendance:student_detail', args=[student_id])}#photos",
    )
    if asked:
        return asked
    photo_services.reference_photo_delete(photo=photo)
    messages.success(request, "Photo deleted.")
    return redirect(f"{reverse('attendance:student_detail', args=[student_id])}#photos")


@admin_required
def roster_import(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        form = RosterImportForm()
        return render(request, "attendance/photos/import.html", {"form": form})
    form = RosterImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "attendance/photos/import.html", {"form": form}, status=400)
    # "Preview" stores the files and reports what importing them would do; nothing else changes
    # until the person presses Import on the job's page.
    start = (
        job_services.roster_import_preview
        if "preview" in request.POST
        else job_services.roster_import_start
    )
    try:
        job = start(
            roster_file=form.cleaned_data["roster"],
            photos_zip=form.cleaned_data["photos"],
            by=request.user,
        )
    except DomainError as error:
        form.add_error(None, error.message)
        return render(request, "attendance/photos/import.html", {"form": form}, status=400)
    if job.state == job.State.PREVIEW:
        return redirect("attendance:job_detail", pk=job.pk)
    # Every line is imported on its own by the worker; the job page shows progress, then the
    # report of every line.
    return _job_answer(request, job, "The files were received")


@admin_required
def roster_template(request: HttpRequest) -> HttpResponse:
    """An example roster with every column the import reads, to fill in a spreadsheet."""
    header, *rows = import_services.TEMPLATE_ROWS
    return csv_download("roster-template.csv", rows, header)


urlpatterns = [
    path("sessions/<int:pk>/captures/", capture_upload, name="capture_upload"),
    path("captures/<int:pk>/", capture_detail, name="capture_detail"),
    path("captures/<int:pk>/status/", capture_status_view, name="capture_status"),
    path("captures/<int:pk>/reprocess/", capture_reprocess, name="capture_reprocess"),
    path("faces/<int:pk>/assign/", face_assign, name="face_assign"),
    path("faces/<int:pk>/confirm/", face_confirm, name="face_confirm"),
    path("faces/<int:pk>/undo/", face_undo, name="face_undo"),
    path("students/<int:pk>/photos/", photo_add, name="photo_add"),
    path("photos/<int:pk>/delete/", photo_delete, name="photo_delete"),
    path("students/import/", roster_import, name="roster_import"),
    path("students/import/template.csv", roster_template, name="roster_template"),
]
