"""Enrolling students in a course (admins, from the course page's dialog) and unenrolling one."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.views.decorators.http import require_POST

from attendance.forms.enrollments import EnrollmentEndForm, EnrollmentForm
from attendance.models import Course, Enrollment
from attendance.services import courses as course_services
from attendance.views.errors import run_service
from attendance.views.guards import admin_required


@require_POST
@admin_required
def enrollment_create(request: HttpRequest, pk: int) -> HttpResponse:
    course = get_object_or_404(Course, pk=pk)
    form = EnrollmentForm(request.POST, course=course)
    if form.is_valid():
        students = list(form.cleaned_data["students"])
        course_services.enrollments_create_many(
            course=course, students=students, joined_on=form.cleaned_data["joined_on"]
        )
        names = ", ".join(s.full_name for s in students[:5])
        more = f" and {len(students) - 5} more" if len(students) > 5 else ""
        messages.success(request, f"Enrolled: {names}{more}.")
    else:
        messages.error(request, f"Not enrolled: {form.errors.as_text()}")
    return redirect("attendance:course_detail", pk=course.pk)


@require_POST
@admin_required
def enrollment_end(request: HttpRequest, pk: int) -> HttpResponse:
    enrollment = get_object_or_404(Enrollment.objects.select_related("student", "course"), pk=pk)
    form = EnrollmentEndForm(request.POST)
    if form.is_valid():
        left_on = form.cleaned_data["left_on"]
        run_service(
            request,
            lambda: course_services.enrollment_end(
                enrollment=enrollment, left_on=left_on, by=request.user
            ),
            f"{enrollment.student.full_name} unenrolled after {left_on:%Y-%m-%d}; "
            "their attendance so far is kept.",
        )
    else:
        messages.error(request, f"Not unenrolled: {form.errors.as_text()}")
    return redirect("attendance:course_detail", pk=enrollment.course_id)


urlpatterns = [
    path("courses/<int:pk>/enroll/", enrollment_create, name="enrollment_create"),
    path("enrollments/<int:pk>/end/", enrollment_end, name="enrollment_end"),
]
