"""Course pages: a teacher's home (their courses and today's sessions), a course, and an admin's
pages to create and edit courses.

Views are thin: they check who is asking through selectors, call one service, and render.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path

from attendance.forms.courses import CourseForm
from attendance.forms.enrollments import EnrollmentForm
from attendance.forms.sessions import RecurringSessionsForm, SessionForm
from attendance.models import Course
from attendance.selectors.access import course_get, courses_visible_to, is_admin
from attendance.selectors.sessions import sessions_on
from attendance.services import courses as course_services
from attendance.views.errors import form_status
from attendance.views.guards import admin_required


@login_required
def home(request: HttpRequest) -> HttpResponse:
    courses = courses_visible_to(request.user).prefetch_related("teachers")
    today = sessions_on(user=request.user).order_by("start_time")
    return render(request, "attendance/home.html", {"courses": courses, "today": today})


@login_required
def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    course = course_get(user=request.user, pk=pk)
    context = {
        "course": course,
        "sessions": course.sessions.order_by("-date", "-start_time"),
        "enrollments": course.enrollments.select_related("student").order_by("student__full_name"),
        "session_form": SessionForm(),
        "recurring_form": RecurringSessionsForm(),
        "enrollment_form": EnrollmentForm() if is_admin(request.user) else None,
    }
    return render(request, "attendance/course_detail.html", context)


@admin_required
def course_create(request: HttpRequest) -> HttpResponse:
    form = CourseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        course = course_services.course_create(**form.cleaned_data)
        messages.success(request, f"Course {course.code} created.")
        return redirect("attendance:course_detail", pk=course.pk)
    context = {"form": form, "title": "New course"}
    return render(request, "attendance/form.html", context, status=form_status(request))


@admin_required
def course_edit(request: HttpRequest, pk: int) -> HttpResponse:
    course = get_object_or_404(Course, pk=pk)
    form = CourseForm(request.POST or None, instance=course)
    if request.method == "POST" and form.is_valid():
        course_services.course_update(course=course, by=request.user, **form.cleaned_data)
        messages.success(request, "Course saved.")
        return redirect("attendance:course_detail", pk=course.pk)
    context = {"form": form, "title": f"Edit {course.code}"}
    return render(request, "attendance/form.html", context, status=form_status(request))


urlpatterns = [
    path("", home, name="home"),
    path("courses/new/", course_create, name="course_create"),
    path("courses/<int:pk>/", course_detail, name="course_detail"),
    path("courses/<int:pk>/edit/", course_edit, name="course_edit"),
]
