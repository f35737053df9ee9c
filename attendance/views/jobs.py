"""Background jobs' pages: progress while the worker runs (static/attendance/job.js polls the
status URL), then the report line by line. Only whoever started the job, or an admin, sees it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from attendance.models import Job, ReferencePhoto
from attendance.selectors.access import job_get
from attendance.services import jobs as job_services
from attendance.views.reports import csv_download


def job_status(job: Job) -> dict:
    checks = job_services.job_photo_checks(job) if job.is_finished else {}
    return {
        "id": job.pk,
        "state": job.state,
        "finished": job.is_finished,
        "total": job.total,
        "done": job.done,
        "percent": job.percent,
        "counts": job_services.job_counts(job),
        "failure_reason": job.failure_reason,
        "url": reverse("attendance:job_detail", args=[job.pk]),
        "status_url": reverse("attendance:job_status", args=[job.pk]),
        # Photos an import added whose face check has not finished: the page polls until 0.
        "photos_pending": sum(
            1 for photo in checks.values() if photo.status == ReferencePhoto.Status.PENDING
        ),
    }


def report_lines(job: Job) -> list[dict]:
    """The report with skipped lines first (what needs a person), each photo line with its face
    check: ``check`` is the photo's state and ``check_reason`` why it was rejected."""
    checks = job_services.job_photo_checks(job) if job.is_finished else {}
    lines = []
    for line in sorted(job.report, key=lambda line: line["outcome"] != "skipped"):
        photo = checks.get(line.get("photo") or 0)
        check = {"check": photo.status, "check_reason": photo.rejection_reason} if photo else {}
        lines.append({**line, **check})
    return lines


def _back(job: Job) -> str:
    if job.kind in (Job.Kind.FACE_MODEL_TRAIN, Job.Kind.FACE_MODEL_SWITCH):
        return reverse("attendance:face_models")
    if job.session_id:
        return reverse("attendance:session_detail", args=[job.session_id])
    if job.student_id:
        return f"{reverse('attendance:student_detail', args=[job.student_id])}#photos"
    return reverse("attendance:roster_import")


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_get(user=request.user, pk=pk)
    status = job_status(job)
    context = {
        "job": job,
        "lines": report_lines(job),
        "status": status,
        "polls": not job.is_finished
        and job.state != Job.State.PREVIEW
        or status["photos_pending"] > 0,
        "summary": job_services.job_summary(job),
        "back": _back(job),
    }
    return render(request, "attendance/jobs/detail.html", context)


@require_POST
@login_required
def job_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_get(user=request.user, pk=pk)
    job_services.roster_import_confirm(job=job, by=request.user)
    messages.success(request, "Importing: the lines are applied in the background.")
    return redirect("attendance:job_detail", pk=job.pk)


@require_GET
@login_required
def job_skipped_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The skipped lines of a preview or an import, with the reasons, to fix in a spreadsheet."""
    job = job_get(user=request.user, pk=pk)
    rows = [[line["where"], line["message"]] for line in job.report if line["outcome"] == "skipped"]
    return csv_download(f"import-{job.pk}-skipped.csv", rows, ["where", "reason"])


@require_GET
@login_required
def job_status_view(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(job_status(job_get(user=request.user, pk=pk)))


urlpatterns = [
    path("jobs/<int:pk>/", job_detail, name="job_detail"),
    path("jobs/<int:pk>/status/", job_status_view, name="job_status"),
    path("jobs/<int:pk>/import/", job_confirm, name="job_confirm"),
    path("jobs/<int:pk>/skipped.csv", job_skipped_csv, name="job_skipped_csv"),
]
