"""Who may see what. Every other selector starts from one of these querysets.

Admins (staff) see everything; a teacher sees the courses they teach and what hangs off them.
Anything outside a user's reach is simply not in their querysets, so a lookup answers 404: a
teacher cannot even learn that a colleague's course exists.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from attendance.models import (
    AttendanceRecord,
    Capture,
    ClassSession,
    Course,
    DetectedFace,
    Enrollment,
    FaceModel,
    Job,
    ReferencePhoto,
    Student,
)


def is_admin(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def courses_visible_to(user: User) -> QuerySet[Course]:
    if is_admin(user):
        return Course.objects.all()
    if not user.is_authenticated:
        return Course.objects.none()
    return Course.objects.filter(teachers=user)


def sessions_visible_to(user: User) -> QuerySet[ClassSession]:
    return ClassSession.objects.filter(course__in=courses_visible_to(user)).select_related("course")


def students_visible_to(user: User) -> QuerySet[Student]:
    if is_admin(user):
        return Student.objects.all()
    enrolled = Enrollment.objects.filter(course__in=courses_visible_to(user)).values("student_id")
    return Student.objects.filter(pk__in=enrolled)


def enrollments_visible_to(user: User) -> QuerySet[Enrollment]:
    return Enrollment.objects.filter(course__in=courses_visible_to(user)).select_related(
        "student", "course"
    )


def photos_visible_to(user: User) -> QuerySet[ReferencePhoto]:
    return ReferencePhoto.objects.filter(student__in=students_visible_to(user))


def captures_visible_to(user: User) -> QuerySet[Capture]:
    return Capture.objects.filter(session__in=sessions_visible_to(user)).select_related(
        "session__course"
    )


def faces_visible_to(user: User) -> QuerySet[DetectedFace]:
    return DetectedFace.objects.filter(capture__in=captures_visible_to(user))


def records_visible_to(user: User) -> QuerySet[AttendanceRecord]:
    return AttendanceRecord.objects.filter(session__in=sessions_visible_to(user)).select_related(
        "student", "session__course"
    )


def course_get(*, user: User, pk: int) -> Course:
    return get_object_or_404(courses_visible_to(user), pk=pk)


def session_get(*, user: User, pk: int) -> ClassSession:
    return get_object_or_404(sessions_visible_to(user), pk=pk)


def student_get(*, user: User, pk: int) -> Student:
    return get_object_or_404(students_visible_to(user), pk=pk)


def capture_get(*, user: User, pk: int) -> Capture:
    return get_object_or_404(captures_visible_to(user), pk=pk)


def jobs_visible_to(user: User) -> QuerySet[Job]:
    """A job is seen by whoever started it (its report names students and files), and admins."""
    jobs = Job.objects.all()
    return jobs if is_admin(user) else jobs.filter(created_by_id=user.pk)


def job_get(*, user: User, pk: int) -> Job:
    return get_object_or_404(jobs_visible_to(user), pk=pk)


def face_models_visible_to(user: User) -> QuerySet[FaceModel]:
    """Model versions are an installation's settings: admins only."""
    return FaceModel.objects.all() if is_admin(user) else FaceModel.objects.none()
