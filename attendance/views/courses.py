"""Course pages: a teacher's home (their courses and today's sessions), a course, and an admin's
pages to create and edit courses.

Views are thin: they check who is asking through selectors, call one service, and render.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone

from attendance.forms.courses import CourseForm
from attendance.forms.enrollments import EnrollmentEndForm, EnrollmentForm
from attendance.forms.sessions import RecurringSessionsForm, SessionForm
from attendance.models import ClassSession, Course
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


# The course page's session list: which sessions, in which order (today onwards ascending, the
# past newest first).
SESSION_VIEWS = {
    "week": "This week",
    "upcoming": "Upcoming",
    "past": "Past",
    "all": "All",
}


def _sessions_shown(course: Course, show: str):
    today = timezone.localdate()
    sessions = course.sessions.all()
    if show == "week":
        monday = today - timedelta(today.weekday())
        return sessions.filter(date__range=(monday, monday + timedelta(6))).order_by(
            "date", "start_time"
        )
    if show == "upcoming":
        return sessions.filter(date__gte=today).order_by("date", "start_time")
    if show == "past":
        return sessions.filter(date__lt=today).order_by("-date", "-start_time")
    return sessions.order_by("date", "start_time")


def _per_page(raw: str | None) -> int:
    return min(max(int(raw), 1), 100) if raw and raw.isdigit() else 20


@login_required
def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The course opens at today: today's (or the next) session pinned on top, then the list of
    this week's, upcoming, past or all sessions, a page at a time."""
    course = course_get(user=request.user, pk=pk)
    show = request.GET.get("show", "upcoming")
    show = show if show in SESSION_VIEWS else "upcoming"
    page = Paginator(
        _sessions_shown(course, show), _per_page(request.GET.get("per_page"))
    ).get_page(request.GET.get("page"))
    pinned = (
        course.sessions.filter(date__gte=timezone.localdate())
        .exclude(state=ClassSession.State.CANCELLED)
        .order_by("date", "start_time")
        .first()
    )
    admin = is_admin(request.user)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "course": course,
        "teachers": sorted(
            course.teachers.all(), key=lambda t: (t.get_full_name() or t.username).lower()
        ),
        "pinned": pinned,
        "today": timezone.localdate(),
        "show": show,
        "views": SESSION_VIEWS,
        "sessions": page.object_list,
        "page": page,
        "query": query.urlencode(),
        # Current students first, then those who left (most recent first).
        "enrollments": course.enrollments.select_related("student").order_by(
            F("left_on").desc(nulls_first=True), "student__full_name"
        ),
        "session_form": SessionForm(auto_id="add-%s"),  # ids apart from the term form's
        "recurring_form": RecurringSessionsForm(),
        "enroll_form": EnrollmentForm(course=course, query=request.GET.get("enrol_q", "").strip())
        if admin
        else None,
        "enrol_q": request.GET.get("enrol_q", "").strip(),
        "end_form": EnrollmentEndForm(initial={"left_on": timezone.localdate()}) if admin else None,
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
