"""Core pages: a teacher's home, courses, sessions and manual marks; an admin's management pages.

Views are thin: they check who is asking through selectors, call one service, and render.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from attendance.errors import DomainError
from attendance.forms import (
    CourseForm,
    EnrollmentForm,
    MarkForm,
    RecurringSessionsForm,
    SessionForm,
    StudentForm,
)
from attendance.models import AttendanceChange, AttendanceRecord, Course, Student
from attendance.selectors.access import (
    course_get,
    courses_visible_to,
    is_admin,
    session_get,
    student_get,
)
from attendance.selectors.captures import session_captures
from attendance.selectors.sessions import roster_students, session_roster, sessions_on
from attendance.services import courses as course_services
from attendance.services import records as record_services
from attendance.services import students as student_services


def admin_required(view):
    """Staff only. Anyone else gets 404, as for anything outside their reach."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_admin(request.user):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapper


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
    return render(request, "attendance/form.html", {"form": form, "title": "New course"})


@admin_required
def course_edit(request: HttpRequest, pk: int) -> HttpResponse:
    course = get_object_or_404(Course, pk=pk)
    form = CourseForm(request.POST or None, instance=course)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Course saved.")
        return redirect("attendance:course_detail", pk=course.pk)
    return render(request, "attendance/form.html", {"form": form, "title": f"Edit {course.code}"})


def _run_service(request: HttpRequest, call, success: str) -> bool:
    """Run a service; show its domain error as a message instead of failing the request."""
    try:
        call()
    except DomainError as error:
        messages.error(request, error.message)
        return False
    messages.success(request, success)
    return True


@require_POST
@login_required
def session_create(request: HttpRequest, pk: int) -> HttpResponse:
    course = course_get(user=request.user, pk=pk)
    form = SessionForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"The session was not created: {form.errors.as_text()}")
    else:
        _run_service(
            request,
            lambda: course_services.session_create(course=course, **form.cleaned_data),
            "Session created.",
        )
    return redirect("attendance:course_detail", pk=course.pk)


@require_POST
@login_required
def sessions_generate(request: HttpRequest, pk: int) -> HttpResponse:
    course = course_get(user=request.user, pk=pk)
    form = RecurringSessionsForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"No sessions were created: {form.errors.as_text()}")
        return redirect("attendance:course_detail", pk=course.pk)
    data = {**form.cleaned_data, "weekdays": set(form.cleaned_data["weekdays"])}
    try:
        created = course_services.sessions_generate_weekly(course=course, **data)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{len(created)} weekly session(s) created.")
    return redirect("attendance:course_detail", pk=course.pk)


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


@login_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = session_get(user=request.user, pk=pk)
    context = {
        "session": session,
        "roster": session_roster(session=session),
        "statuses": AttendanceRecord.Status.choices,
        "captures": session_captures(session=session),
        "changes": AttendanceChange.objects.filter(session=session)
        .select_related("student", "changed_by")
        .order_by("-changed_at")[:50],
    }
    return render(request, "attendance/session_detail.html", context)


@require_POST
@login_required
def session_mark(request: HttpRequest, pk: int) -> HttpResponse:
    session = session_get(user=request.user, pk=pk)
    form = MarkForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing was changed: {form.errors.as_text()}")
        return redirect("attendance:session_detail", pk=session.pk)
    student = get_object_or_404(roster_students(session=session), pk=form.cleaned_data["student"])
    _run_service(
        request,
        lambda: record_services.attendance_mark(
            session=session,
            student=student,
            status=form.cleaned_data["status"],
            source=AttendanceRecord.Source.MANUAL,
            by=request.user,
            reason=form.cleaned_data["reason"],
        ),
        f"{student.full_name}: {form.cleaned_data['status']}.",
    )
    return redirect("attendance:session_detail", pk=session.pk)


@require_POST
@login_required
def session_finalize(request: HttpRequest, pk: int) -> HttpResponse:
    session = session_get(user=request.user, pk=pk)
    absent = record_services.session_finalize(session=session, by=request.user)
    messages.success(request, f"Session finalized; {absent} unmarked student(s) set absent.")
    return redirect("attendance:session_detail", pk=session.pk)


@require_POST
@login_required
def session_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    session = session_get(user=request.user, pk=pk)
    record_services.session_reopen(session=session, by=request.user)
    messages.success(request, "Session reopened: marks can be changed again.")
    return redirect("attendance:session_detail", pk=session.pk)


@admin_required
def student_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    students = Student.objects.prefetch_related("photos").order_by("full_name")
    if query:
        students = students.filter(full_name__icontains=query) | students.filter(
            student_number__icontains=query
        )
    return render(request, "attendance/student_list.html", {"students": students, "q": query})


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
    return render(request, "attendance/form.html", {"form": form, "title": "New student"})


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
        student_services.consent_withdraw(student=student)
        messages.success(
            request, "Consent withdrawn; the student's photos and embeddings are gone."
        )
    else:
        student_services.consent_record(student=student, by=request.user)
        messages.success(
            request, f"Consent recorded at {timezone.localtime():%Y-%m-%d %H:%M} by you."
        )
    return redirect("attendance:student_detail", pk=student.pk)


@require_POST
@admin_required
def student_delete(request: HttpRequest, pk: int) -> HttpResponse:
    student = get_object_or_404(Student, pk=pk)
    name = student.full_name
    student_services.student_delete(student=student)
    messages.success(request, f"{name} and all of their photos were deleted.")
    return redirect("attendance:student_list")


urlpatterns = [
    path("", home, name="home"),
    path("courses/new/", course_create, name="course_create"),
    path("courses/<int:pk>/", course_detail, name="course_detail"),
    path("courses/<int:pk>/edit/", course_edit, name="course_edit"),
    path("courses/<int:pk>/sessions/new/", session_create, name="session_create"),
    path("courses/<int:pk>/sessions/generate/", sessions_generate, name="sessions_generate"),
    path("courses/<int:pk>/enroll/", enrollment_create, name="enrollment_create"),
    path("sessions/<int:pk>/", session_detail, name="session_detail"),
    path("sessions/<int:pk>/mark/", session_mark, name="session_mark"),
    path("sessions/<int:pk>/finalize/", session_finalize, name="session_finalize"),
    path("sessions/<int:pk>/reopen/", session_reopen, name="session_reopen"),
    path("students/", student_list, name="student_list"),
    path("students/new/", student_create, name="student_create"),
    path("students/<int:pk>/", student_detail, name="student_detail"),
    path("students/<int:pk>/consent/", student_consent, name="student_consent"),
    path("students/<int:pk>/delete/", student_delete, name="student_delete"),
]
