"""The benchmark command runs the capture pipeline on composed LFW photos and prints its table."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from attendance.models import Capture, Course
from benchmarks.attendance import Command as BenchAttendance

pytestmark = pytest.mark.django_db


def test_bench_attendance_prints_precision_recall_rejection_and_timings(face_models):
    out = io.StringIO()
    call_command(
        BenchAttendance(), "--photos=1", "--enrolled=12", "--strangers=6", "--e2e-runs=1",
        stdout=out,
    )  # fmt: skip
    table = out.getvalue()
    for row in (
        "present marks: precision",
        "present marks: recall",
        "strangers never marked present",
        "time per photo",
        "time per face",
        "30-face 1920x1080 end to end #1",
        "target precision",
    ):
        assert row in table
    # The end-to-end run's rows and files were rolled back.
    assert not Capture.objects.exists() and not Course.objects.exists()
