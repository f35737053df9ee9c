"""The benchmark command runs the capture pipeline on composed LFW photos and prints its table."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from attendance.models import Capture, Course
from attendance.services.captures import CaptureAnalysis
from benchmarks.attendance import Command as BenchAttendance
from benchmarks.attendance import Tally
from benchmarks.synth import ClassPhoto, PlacedFace, Roster
from facerec.quality import FaceQuality
from facerec.types import AnalyzedFace, Face, Match

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


def test_a_stranger_marked_present_is_named_with_what_the_rule_saw():
    # Two tiles: alice (enrolled) and charlie (a stranger), each matched automatically.
    photo = ClassPhoto(b"", 400, 200, 90, [tile("alice", 0), tile("charlie", 200)])
    analysis = CaptureAnalysis(
        400, 200,
        faces=[analyzed(100), analyzed(300, size=52)],
        matches=[
            Match(0, "alice", 0.7, "auto", [("alice", 0.7), ("bob", 1.2)]),
            Match(1, "bob", 0.83, "auto", [("bob", 0.83), ("alice", 1.29)]),
        ],
    )  # fmt: skip
    command, tally = BenchAttendance(), Tally()
    command._threshold = 1.006

    command._score(tally, Roster(enrolled={"alice": [], "bob": []}), photo, analysis)

    assert tally.strangers_marked == 1
    assert tally.stranger_marks == [
        "charlie as bob at 0.830 (runner-up +0.460, threshold 1.006; face 52 px, sharpness 27)"
    ]


def tile(person: str, x: int) -> PlacedFace:
    return PlacedFace(person, Path(f"{person}.jpg"), (x, 0, 200, 200))


def analyzed(x: int, size: int = 100) -> AnalyzedFace:
    face = Face((x - size // 2, 50, size, size), (), 0.99)
    quality = FaceQuality(size, 27.4, 120.0, 40.0, 0.1, 60.0, 0.99)
    return AnalyzedFace(face, np.zeros((160, 160, 3), np.uint8), np.zeros(4, np.float32), quality)
