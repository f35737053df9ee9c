"""match_faces gives each face in a class photo at most one student, and a stranger none."""

from __future__ import annotations

import numpy as np
import pytest

from facerec import face_distance, match_faces
from facerec.matching import match_margin

THRESHOLD, REVIEW = 0.6, 0.8


def unit(angle_degrees: float) -> np.ndarray:
    """A unit vector in the plane; two of them are 2 sin(delta / 2) apart."""
    a = np.deg2rad(angle_degrees)
    return np.array([np.cos(a), np.sin(a), 0.0], np.float32)


def chord(delta_degrees: float) -> float:
    return float(2 * np.sin(np.deg2rad(delta_degrees) / 2))


def test_face_distance_of_one_candidate_is_one_row_per_known_face():
    known = np.stack([unit(0), unit(60), unit(180)])

    distance = face_distance(known, unit(0))

    assert distance.shape == (3,)
    assert distance == pytest.approx([0.0, 1.0, 2.0], abs=1e-6)


def test_face_distance_of_many_candidates_is_candidates_by_known():
    known = np.stack([unit(0), unit(90)])
    candidates = np.stack([unit(0), unit(90), unit(180)])

    distance = face_distance(known, candidates)

    assert distance.shape == (3, 2)
    assert distance[2] == pytest.approx([2.0, np.sqrt(2)], abs=1e-6)


def test_the_optimal_assignment_beats_greedy_when_two_faces_want_the_same_student():
    # alice's reference is closest to face 0 (20 degrees) AND to face 1 (26 degrees);
    # bob's is 30 degrees from face 0 but 76 degrees (beyond review) from face 1.
    # Greedy gives alice to face 0 and leaves face 1 unknown; optimal gives both a student.
    gallery = np.stack([unit(0), unit(50)])
    probes = np.stack([unit(20), unit(-26)])

    matches = match_faces(
        probes, gallery, ["alice", "bob"], threshold=THRESHOLD, review_threshold=REVIEW
    )

    assert [m.label for m in matches] == ["bob", "alice"]
    # Face 0 looks more like alice than like bob, so bob is a suggestion a person must confirm.
    assert [m.decision for m in matches] == ["review", "auto"]
    assert matches[0].distance == pytest.approx(chord(30), abs=1e-5)
    assert matches[0].candidates[0] == ("alice", pytest.approx(chord(20), abs=1e-5))


def test_a_stranger_is_unknown_even_when_a_student_is_free():
    gallery = np.stack([unit(0), unit(90)])
    probes = np.stack([unit(2), unit(200)])  # face 1 is far from everyone

    matches = match_faces(
        probes, gallery, ["alice", "bob"], threshold=THRESHOLD, review_threshold=REVIEW
    )

    assert (matches[0].label, matches[0].decision) == ("alice", "auto")
    assert (matches[1].label, matches[1].distance, matches[1].decision) == (None, None, "unknown")
    assert [label for label, _ in matches[1].candidates] == ["bob", "alice"]


def test_a_clear_match_is_automatic():
    gallery = np.stack([unit(0), unit(90)])

    (match,) = match_faces(
        unit(10)[None], gallery, ["alice", "bob"], threshold=THRESHOLD, review_threshold=REVIEW
    )

    assert (match.label, match.decision) == ("alice", "auto")
    assert match.distance == pytest.approx(chord(10), abs=1e-5)


def test_a_stranger_between_two_students_needs_review_not_a_mark():
    # Within the accept threshold of both alice (20 degrees) and bob (22 degrees): the face is as
    # much bob as alice, so neither may be marked present without a person looking.
    gallery = np.stack([unit(0), unit(42)])

    (match,) = match_faces(
        unit(20)[None], gallery, ["alice", "bob"], threshold=THRESHOLD, review_threshold=REVIEW
    )

    assert chord(22) - chord(20) < match_margin()
    assert (match.label, match.decision) == ("alice", "review")
    assert [label for label, _ in match.candidates] == ["alice", "bob"]


def test_the_runner_up_must_be_the_margin_farther_for_an_automatic_match():
    margin = match_margin()
    alice_at = chord(20)
    # bob's angle from the probe whose chord is alice's distance plus 0.9 and 1.1 margins
    near, far = (float(np.rad2deg(2 * np.arcsin((alice_at + k * margin) / 2))) for k in (0.9, 1.1))
    assert margin > 0

    def decision_with_bob_at(degrees: float) -> str:
        gallery = np.stack([unit(0), unit(20 + degrees)])
        (match,) = match_faces(
            unit(20)[None], gallery, ["alice", "bob"], threshold=THRESHOLD, review_threshold=REVIEW
        )
        return match.decision

    assert decision_with_bob_at(near) == "review"
    assert decision_with_bob_at(far) == "auto"


def test_a_distance_between_the_thresholds_needs_review():
    distance_for_45_degrees = chord(45)  # 0.765: above 0.6, below 0.8
    assert THRESHOLD < distance_for_45_degrees < REVIEW

    (match,) = match_faces(
        unit(45)[None], unit(0)[None], ["alice"], threshold=THRESHOLD, review_threshold=REVIEW
    )

    assert (match.label, match.decision) == ("alice", "review")


def test_a_student_is_as_far_as_the_mean_of_their_two_closest_reference_photos():
    # alice has three reference photos, 5, 15 and 120 degrees from the face; the third is ignored.
    gallery = np.stack([unit(120), unit(5), unit(-15), unit(60)])
    labels = ["alice", "alice", "alice", "bob"]

    (match,) = match_faces(
        unit(0)[None], gallery, labels, threshold=THRESHOLD, review_threshold=REVIEW
    )

    assert match.label == "alice"
    assert match.distance == pytest.approx((chord(5) + chord(15)) / 2, abs=1e-5)
    assert match.candidates == [
        ("alice", pytest.approx(match.distance)),
        ("bob", pytest.approx(chord(60), abs=1e-5)),
    ]


def test_a_stranger_like_one_reference_photo_of_a_student_is_not_marked():
    # The face is 10 degrees from one of alice's photos but 70 from her other one.
    gallery = np.stack([unit(10), unit(-70), unit(180)])
    labels = ["alice", "alice", "bob"]

    (match,) = match_faces(
        unit(0)[None], gallery, labels, threshold=THRESHOLD, review_threshold=REVIEW
    )

    assert chord(10) < THRESHOLD < (chord(10) + chord(70)) / 2 <= REVIEW
    assert (match.label, match.decision) == ("alice", "review")


def test_two_faces_of_the_same_student_give_that_student_only_once():
    probes = np.stack([unit(3), unit(-4)])

    matches = match_faces(
        probes, unit(0)[None], ["alice"], threshold=THRESHOLD, review_threshold=REVIEW
    )

    assert [m.label for m in matches] == ["alice", None]
    assert matches[1].decision == "unknown"


def test_no_faces_or_an_empty_roster_give_nothing_to_mark():
    assert (
        match_faces(np.zeros((0, 3)), unit(0)[None], ["alice"], threshold=0.6, review_threshold=0.8)
        == []
    )

    (match,) = match_faces(unit(0)[None], np.zeros((0, 3)), [], threshold=0.6, review_threshold=0.8)
    assert (match.label, match.decision) == (None, "unknown")


def test_default_thresholds_come_from_the_shipped_model():
    from facerec import model_info

    info = model_info()
    just_inside = 2 * np.arcsin(info.threshold / 2) * 0.99  # angle whose chord is just below it

    (match,) = match_faces(unit(np.rad2deg(just_inside))[None], unit(0)[None], ["alice"])

    assert match.decision == "auto"
