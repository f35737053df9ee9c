"""Background jobs' pages: progress while the worker runs (static/attendance/job.js polls the
status URL), then the report line by line. Only whoever started the job, or an admin, sees it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from attendance.models import Job
from attendance.selectors.access import job_get
from attendance.services import jobs as job_services


def job_status(job: Job) -> dict:
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
    }


def _back(job: Job) -> str:
    if job.session_id:
        return reverse("attendance:session_detail", args=[job.session_id])
    if job.student_id:
        return f"{reverse('attendance:student_detail', args=[job.student_id])}#photos"
    return reverse("attendance:roster_import")


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_get(user=request.user, pk=pk)
    context = {
        "job": job,
        "status": job_status(job),
        "summary": job_services.job_summary(job),
        "back": _back(job),
    }
    return render(request, "attendance/jobs/detail.html", context)


@require_GET
@login_required
def job_status_view(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(job_status(job_get(user=request.user, pk=pk)))


urlpatterns = [
    path("jobs/<int:pk>/", job_detail, name="job_detail"),
    path("jobs/<int:pk>/status/", job_status_view, name="job_status"),
]
