"""calibrate_gallery sets the automatic threshold from the installation's own reference photos:
distances between different students are a sample of how close that school's strangers come."""

from __future__ import annotations

import numpy as np
import pytest

from facerec import calibrate_gallery, match_faces
from facerec.matching import impostor_distances
from tests.support.faces import lfw_photo

MODEL_THRESHOLD = 1.0
# Eight LFW people with two reference photos each: 16 photos, 16 x 7 = 112 impostor distances.
PEOPLE = [
    "Colin_Powell",
    "Tony_Blair",
    "Jacques_Chirac",
    "Vladimir_Putin",
    "Gloria_Macapagal_Arroyo",
    "Serena_Williams",
    "Jean_Chretien",
    "John_Ashcroft",
]


def unit(*values: float) -> np.ndarray:
    v = np.array(values, np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture(scope="module")
def real_gallery(face_models):
    import facerec

    photos = [facerec.load_image(lfw_photo(p, n)) for p in PEOPLE for n in (1, 2)]
    vectors = np.stack([facerec.embed_reference_photo(photo).embedding for photo in photos])
    return vectors, [p for p in PEOPLE for _ in (1, 2)]


def test_impostor_distances_compare_each_photo_with_every_other_student_only():
    gallery = np.stack([unit(1, 0), unit(1, 0.1), unit(0, 1)])

    distances = impostor_distances(gallery, ["alice", "alice", "bob"])

    # alice's two photos against bob, and bob's photo against alice (mean of her two photos).
    assert len(distances) == 3
    assert distances.min() > 1.0


@pytest.mark.parametrize("far", [0.05, 0.1, 0.25])
def test_the_threshold_falls_at_the_requested_share_of_a_real_gallerys_impostors(real_gallery, far):
    vectors, labels = real_gallery
    impostors = np.sort(impostor_distances(vectors, labels))

    calibration = calibrate_gallery(vectors, labels, far=far, model_threshold=2.0)

    allowed = int(np.floor(far * len(impostors)))
    assert len(impostors) == 16 * 7
    assert np.sum(impostors <= calibration.threshold) == allowed
    assert calibration.threshold < impostors[allowed]
    assert calibration.far == pytest.approx(allowed / len(impostors))
    assert calibration.closest_impostor == pytest.approx(impostors[0])


def test_a_gallery_never_loosens_the_models_threshold(real_gallery):
    vectors, labels = real_gallery

    calibration = calibrate_gallery(vectors, labels, far=0.5, model_threshold=0.3)

    assert calibration.threshold == 0.3


def test_two_lookalike_students_tighten_the_threshold_so_a_lookalike_stranger_is_reviewed():
    # alice and bob are 0.2 apart; a stranger 0.26 from bob (0.46 from alice) would be
    # auto-matched at the model's threshold, but this school's own photos show that two
    # different people can be 0.2 apart, so 0.26 proves nothing.
    alice, bob, charlie = unit(1, 0, 0), unit(0.98, 0.199, 0), unit(0, 0, 1)
    gallery = np.stack([alice, bob, charlie] * 10)
    labels = ["alice", "bob", "charlie"] * 10
    stranger = unit(np.cos(np.deg2rad(26.5)), np.sin(np.deg2rad(26.5)), 0)

    calibration = calibrate_gallery(gallery, labels, far=1e-4, model_threshold=MODEL_THRESHOLD)
    before = match_faces(stranger[None], gallery, labels, threshold=MODEL_THRESHOLD)
    after = match_faces(
        stranger[None], gallery, labels, calibration=calibration, review_threshold=1.2
    )

    assert calibration.threshold < calibration.closest_impostor < 0.21
    assert before[0].label == after[0].label == "bob"
    assert before[0].decision == "auto"
    assert after[0].decision == "review"


def test_too_small_a_gallery_keeps_the_models_threshold():
    gallery = np.stack([unit(1, 0), unit(0, 1)])

    calibration = calibrate_gallery(gallery, ["alice", "bob"], model_threshold=MODEL_THRESHOLD)

    assert calibration.threshold == MODEL_THRESHOLD
    assert calibration.impostors == 2
