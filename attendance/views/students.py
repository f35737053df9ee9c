"""Student pages: an admin's list and forms (create, consent, delete) and a student's page, which a
teacher sees for the students of their own courses.

Views are thin: they check who is asking through selectors, call one service, and render.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from attendance.forms.students import StudentEditForm, StudentFilterForm, StudentForm
from attendance.models import Student
from attendance.selectors.access import courses_visible_to, is_admin, student_get
from attendance.selectors.people import students_filtered
from attendance.services import students as student_services
from attendance.views.confirm import ask_first
from attendance.views.errors import form_status, run_service
from attendance.views.guards import admin_required


@admin_required
def student_list(request: HttpRequest) -> HttpResponse:
    form = StudentFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    students = students_filtered(
        query=(filters.get("q") or "").strip(),
        course=filters.get("course"),
        needs_photos=bool(filters.get("needs_photos")),
        no_consent=bool(filters.get("no_consent")),
    )
    page = Paginator(students, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "students": page.object_list,
        "page": page,
        "query": query.urlencode(),
    }
    return render(request, "attendance/student_list.html", context)


@admin_required
def student_create(request: HttpRequest) -> HttpResponse:
    form = StudentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        student = student_services.student_create(
            student_number=data["student_number"],
            full_name=data["full_name"],
            email=data["email"],
            consent_by=request.user if data["consent"] else None,
        )
        messages.success(request, f"{student.full_name} added.")
        return redirect("attendance:student_detail", pk=student.pk)
    context = {"form": form, "title": "New student"}
    return render(request, "attendance/form.html", context, status=form_status(request))


@admin_required
def student_edit(request: HttpRequest, pk: int) -> HttpResponse:
    student = get_object_or_404(Student, pk=pk)
    # The form checks a copy, so a refused change never shows on the page as if it were saved.
    form = StudentEditForm(request.POST or None, instance=Student.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        student_services.student_update(student=student, by=request.user, **form.cleaned_data)
        messages.success(request, "Student saved.")
        return redirect("attendance:student_detail", pk=student.pk)
    context = {"form": form, "title": f"Edit {student.full_name}"}
    return render(request, "attendance/form.html", context, status=form_status(request))


@login_required
def student_detail(request: HttpRequest, pk: int) -> HttpResponse:
    student = student_get(user=request.user, pk=pk)
    context = {
        "student": student,
        "photos": student.photos.order_by("-created_at") if is_admin(request.user) else [],
        "enrollments": student.enrollments.filter(
            course__in=courses_visible_to(request.user)
        ).select_related("course"),
    }
    return render(request, "attendance/student_detail.html", context)


@require_POST
@admin_required
def student_consent(request: HttpRequest, pk: int) -> HttpResponse:
    student = get_object_or_404(Student, pk=pk)
    if request.POST.get("action") == "withdraw":
        asked = ask_first(
            request,
            question=f"Withdraw {student.full_name}'s photo consent? All their reference photos "
            "and face data are deleted.",
            yes="Yes, withdraw consent and delete the photos",
            back=reverse("attendance:student_detail", args=[student.pk]),
            fields={"action": "withdraw"},
        )
        if asked:
            return asked
        student_services.consent_withdraw(student=student, by=request.user)
        messages.success(
            request, "Consent withdrawn; the student's photos and embeddings are gone."
        )
    else:
        run_service(
            request,
            lambda: student_services.consent_record(student=student, by=request.user),
            f"Consent recorded at {timezone.localtime():%Y-%m-%d %H:%M} by you.",
        )
    return redirect("attendance:student_detail", pk=student.pk)


@require_POST
@admin_required
def student_delete(request: HttpRequest, pk: int) -> HttpResponse:
    student = get_object_or_404(Student, pk=pk)
    name = student.full_name
    asked = ask_first(
        request,
        question=f"Delete {name}? Their photos, faces and contact details are erased; their "
        "attendance records are kept under their name and number.",
        yes="Yes, delete the student",
        back=reverse("attendance:student_detail", args=[student.pk]),
    )
    if asked:
        return asked
    student_services.student_delete(student=student, by=request.user)
    messages.success(
        request,
        f"{name} was deleted: their photos and faces are erased; their attendance records are "
        "kept under their name and number.",
    )
    return redirect("attendance:student_list")


urlpatterns = [
    path("students/", student_list, name="student_list"),
    path("students/new/", student_create, name="student_create"),
    path("students/<int:pk>/", student_detail, name="student_detail"),
    path("students/<int:pk>/edit/", student_edit, name="student_edit"),
    path("students/<int:pk>/consent/", student_consent, name="student_consent"),
    path("students/<int:pk>/delete/", student_delete, name="student_delete"),
]
