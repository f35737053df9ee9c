"""Enrolling a student in a course (admins, from the course page)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.views.decorators.http import require_POST

from attendance.forms.enrollments import EnrollmentForm
from attendance.models import Course
from attendance.services import courses as course_services
from attendance.views.guards import admin_required


@require_POST
@admin_required
def enrollment_create(request: HttpRequest, pk: int) -> HttpResponse:
    course = get_object_or_404(Course, pk=pk)
    form = EnrollmentForm(request.POST)
    if form.is_valid():
        course_services.enrollment_create(course=course, **form.cleaned_data)
        messages.success(request, f"{form.cleaned_data['student'].full_name} enrolled.")
    else:
        messages.error(request, f"Not enrolled: {form.errors.as_text()}")
    return redirect("attendance:course_detail", pk=course.pk)


urlpatterns = [
    path("courses/<int:pk>/enroll/", enrollment_create, name="enrollment_create"),
]
