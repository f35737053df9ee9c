"""A face too small, dark or blurred to be sure of is never matched automatically: a person
reviews it. Real LFW faces, degraded as a class photo degrades them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facerec import detect_faces, face_quality, load_image, match_faces, quality_problem
from facerec.alignment import align_face
from facerec.detection import central_face
from tests.support.faces import lfw_photo

THRESHOLD, REVIEW = 1.0, 1.2


def quality_of(image: np.ndarray):
    face = central_face(detect_faces(image, min_face_size=12), image.shape)
    assert face is not None, "the test photo must still show a detectable face"
    return face_quality(face, align_face(image, face))


@pytest.fixture
def alice_photo() -> np.ndarray:
    return load_image(lfw_photo("Colin_Powell", 1))


def decide_alone(quality) -> str:
    """alice's decision when her face is exactly her reference photo (distance 0): only the
    quality can stop an automatic match."""
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(4, 8)).astype(np.float32)
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    matches = match_faces(
        gallery[:1],
        gallery,
        ["alice", "bob", "charlie", "dave"],
        threshold=THRESHOLD,
        review_threshold=REVIEW,
        qualities=[quality],
    )
    return matches[0].decision, matches[0].note


def test_a_clean_colour_face_is_matched_automatically(alice_photo):
    quality = quality_of(alice_photo)

    assert quality_problem(quality) is None
    assert decide_alone(quality) == ("auto", "")


def test_a_dark_face_goes_to_review_even_at_distance_zero(alice_photo):
    dark = (alice_photo.astype(np.float32) * 0.15).astype(np.uint8)

    decision, note = decide_alone(quality_of(dark))

    assert decision == "review"
    assert "too dark" in note


def test_a_small_face_goes_to_review_and_says_how_small(alice_photo):
    small = cv2.resize(alice_photo, (80, 80), interpolation=cv2.INTER_AREA)
    quality = quality_of(small)

    decision, note = decide_alone(quality)

    assert quality.size < 30
    assert decision == "review"
    assert f"only {quality.size} px" in note


def test_a_greyscale_face_is_measured_as_grey_but_decided_by_its_distance(alice_photo):
    # Measured: grey LFW faces gave strangers no more automatic matches than colour ones.
    grey = np.repeat(cv2.cvtColor(alice_photo, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    quality = quality_of(grey)

    assert quality.colour < 1.0
    assert decide_alone(quality) == ("auto", "")


def test_a_blurred_face_goes_to_review(alice_photo):
    blurred = cv2.GaussianBlur(alice_photo, (0, 0), 3.0)

    decision, note = decide_alone(quality_of(blurred))

    assert decision == "review"
    assert "blurred" in note


def test_a_face_without_measured_quality_is_decided_by_distance_alone():
    assert decide_alone(None) == ("auto", "")
