"""Create the demo admin, a demo teacher and a demo course to click through. Safe to run again.

The demo students are LFW people: when the shared datasets folder is there (../shared/datasets,
or ROLLCALL_DATASETS), each gets two reference photos, enqueued for embedding, so that a class
photo made of their other pictures is recognised end to end.
"""

from __future__ import annotations

from datetime import time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from attendance.errors import DomainError
from attendance.models import AttendanceRecord, ClassSession, Course, Student
from attendance.selectors.sessions import roster_students
from attendance.services import courses as course_services
from attendance.services import photos as photo_services
from attendance.services import records as record_services
from attendance.services import students as student_services

DEMO_ADMIN = ("admin", "rollcall-admin")
DEMO_TEACHER = ("teacher", "rollcall-teacher")
DEMO_PHOTOS = (1, 2)  # LFW picture numbers used as reference photos; the rest suit class photos
DEMO_STUDENTS = [
    ("D001", "George W Bush"),
    ("D002", "Colin Powell"),
    ("D003", "Tony Blair"),
    ("D004", "Donald Rumsfeld"),
    ("D005", "Gerhard Schroeder"),
    ("D006", "Ariel Sharon"),
    ("D007", "Hugo Chavez"),
    ("D008", "Junichiro Koizumi"),
]


def _user(username: str, password: str, **flags: object):
    user, created = get_user_model().objects.get_or_create(username=username, defaults=flags)
    if created:
        user.set_password(password)
        user.save()
    return user


class Command(BaseCommand):
    help = "Create a demo admin and teacher (logins printed) and a demo course with students."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        admin = _user(*DEMO_ADMIN, is_staff=True, is_superuser=True, first_name="Demo admin")
        teacher = _user(*DEMO_TEACHER, first_name="Tess", last_name="Teacher")
        course = Course.objects.filter(code="DEMO101").first() or course_services.course_create(
            code="DEMO101", title="Demo: Introduction to Politics", term="demo", teachers=[teacher]
        )
        today = timezone.localdate()
        lfw = settings.ROLLCALL_DATASETS_DIR / "lfw"
        added = 0
        for number, name in DEMO_STUDENTS:
            student = Student.objects.filter(student_number=number).first()
            student = student or student_services.student_create(
                student_number=number, full_name=name, consent_by=admin
            )
            course_services.enrollment_create(
                student=student, course=course, joined_on=today - timedelta(days=28)
            )
            if lfw.is_dir():
                added += self._add_photos(student, lfw, admin)
        course_services.sessions_generate_weekly(
            course=course,
            first_day=today - timedelta(days=21),
            last_day=today + timedelta(days=21),
            weekdays={today.weekday()},
            start_time=time(9),
            end_time=time(10, 30),
            room="A1",
        )
        history = self._past_attendance(course, teacher, today)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        if history:
            self.stdout.write(f"  {history} past session(s) given marks, so the reports have data.")
        if lfw.is_dir():
            self.stdout.write(
                f"  {added} reference photo(s) added from {lfw} and queued for embedding "
                "(a running worker processes them)."
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"  No LFW folder at {lfw}: the demo students have no reference photos, so "
                    "class photos will find only unknown faces. Set ROLLCALL_DATASETS to a folder "
                    "holding lfw/ and run seed_demo again, or add photos on each student's page."
                )
            )
        self.stdout.write(f"  admin login:   {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}")
        self.stdout.write(f"  teacher login: {DEMO_TEACHER[0]} / {DEMO_TEACHER[1]}")

    def _past_attendance(self, course: Course, teacher, today) -> int:
        """Mark and finalize the sessions before today, as a teacher would have, through the same
        audited services. A fixed pattern (not random) keeps reruns and screenshots identical."""
        pattern = ["present"] * 7 + ["late", "absent", "present", "excused", "present"]
        held = list(
            course.sessions.filter(date__lt=today, state=ClassSession.State.OPEN).order_by("date")
        )
        for n, session in enumerate(held):
            for m, student in enumerate(roster_students(session=session)):
                record_services.attendance_mark(
                    session=session,
                    student=student,
                    status=pattern[(3 * n + 5 * m) % len(pattern)],
                    source=AttendanceRecord.Source.MANUAL,
                    by=teacher,
                    reason="Demo history.",
                )
            record_services.session_finalize(session=session, by=teacher)
        return len(held)

    def _add_photos(self, student: Student, lfw, admin) -> int:
        """Two reference photos per student, once (a rerun adds nothing)."""
        if student.photos.exists():
            return 0
        folder = lfw / student.full_name.replace(" ", "_")
        added = 0
        for number in DEMO_PHOTOS:
            path = folder / f"{folder.name}_{number:04d}.jpg"
            if not path.exists():
                continue
            try:
                photo_services.reference_photo_add(
                    student=student, image_file=ContentFile(path.read_bytes(), path.name), by=admin
                )
            except DomainError as error:
                self.stderr.write(f"  {path.name}: {error.message}")
                continue
            added += 1
        return added
