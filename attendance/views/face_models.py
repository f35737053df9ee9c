"""The Face model page (admins): versions, their evaluation side by side with the serving model,
and train / evaluate / promote / roll back. Long work runs as a job whose page shows progress."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from attendance.errors import DomainError
from attendance.models import Course, FaceModel, Job
from attendance.services import face_models as services
from attendance.services.gallery import GROWN_PER_STUDENT
from attendance.views.errors import run_service
from attendance.views.guards import admin_required

FIGURES = (
    ("precision", "Automatic precision"),
    ("recall", "Automatic recall"),
    ("false_accept_rate", "Strangers marked"),
    ("review_load", "Sent to review"),
    ("accuracy", "Decided rightly without a person"),
)


@admin_required
def face_model_list(request: HttpRequest) -> HttpResponse:
    models = services.face_model_list()
    serving = next((m for m in models if m.serving), None)
    rows = [
        {
            "model": m,
            "refusal": services.promotion_refusal(m) if m.is_trained else "",
            "figures": _figures(m),
        }
        for m in models
    ]
    running = Job.objects.filter(
        kind__in=[Job.Kind.FACE_MODEL_TRAIN, Job.Kind.FACE_MODEL_SWITCH],
        state__in=[Job.State.QUEUED, Job.State.RUNNING],
    )
    courses = Course.objects.order_by("term", "code")
    context = {
        "rows": rows,
        "serving": serving,
        "running": running,
        "courses": courses,
        "grown_per_student": GROWN_PER_STUDENT,
    }
    return render(request, "attendance/face_models.html", context)


def _figures(model: FaceModel) -> list[dict]:
    evaluation = model.evaluation or {}
    if not evaluation:
        return []
    return [
        {
            "label": label,
            "challenger": f"{evaluation['challenger'][key]:.1%}",
            "champion": f"{evaluation['champion'][key]:.1%}",
        }
        for key, label in FIGURES
    ]


def _start(request: HttpRequest, call) -> HttpResponse:
    try:
        job = call()
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("attendance:face_models")
    return redirect("attendance:job_detail", job.pk)


@require_POST
@admin_required
def face_model_train(request: HttpRequest) -> HttpResponse:
    include = request.POST.get("include_class_faces") == "on"
    return _start(
        request,
        lambda: services.face_model_train_start(by=request.user, include_class_faces=include),
    )


@require_POST
@admin_required
def face_model_evaluate(request: HttpRequest, pk: int) -> HttpResponse:
    model = get_object_or_404(FaceModel, pk=pk)
    run_service(
        request,
        lambda: services.face_model_evaluate(model=model),
        lambda m: f"{m.version} evaluated against {m.evaluation['champion_version']}.",
    )
    return redirect(reverse("attendance:face_models") + f"#model-{pk}")


@require_POST
@admin_required
def face_model_promote(request: HttpRequest, pk: int) -> HttpResponse:
    model = get_object_or_404(FaceModel, pk=pk)
    return _start(request, lambda: services.face_model_promote_start(model=model, by=request.user))


@require_POST
@admin_required
def face_model_rollback(request: HttpRequest) -> HttpResponse:
    return _start(request, lambda: services.face_model_rollback_start(by=request.user))


@require_POST
@admin_required
def course_gallery_growth(request: HttpRequest, pk: int) -> HttpResponse:
    from attendance.services.gallery import course_gallery_growth_set

    course = get_object_or_404(Course, pk=pk)
    enabled = request.POST.get("enabled") == "on"
    state = "now grows" if enabled else "no longer grows"
    run_service(
        request,
        lambda: course_gallery_growth_set(course=course, enabled=enabled),
        f"{course.code} {state} its students' reference faces from confirmed class-photo faces.",
    )
    return redirect(reverse("attendance:face_models") + "#growth")


urlpatterns = [
    path("face-model/", face_model_list, name="face_models"),
    path("face-model/train/", face_model_train, name="face_model_train"),
    path("face-model/rollback/", face_model_rollback, name="face_model_rollback"),
    path("face-model/<int:pk>/evaluate/", face_model_evaluate, name="face_model_evaluate"),
    path("face-model/<int:pk>/promote/", face_model_promote, name="face_model_promote"),
    path("face-model/courses/<int:pk>/grow/", course_gallery_growth, name="course_gallery_growth"),
]
