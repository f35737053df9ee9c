"""The open-set benchmark's degraded conditions are what its README says they are, and its
figures count faces the way the table's headings say."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.openset import Counts, degrade
from facerec import detect_faces, load_image
from facerec.detection import central_face
from tests.support.faces import lfw_photo


@pytest.fixture
def photo_and_box():
    image = load_image(lfw_photo("Colin_Powell", 1))
    face = central_face(detect_faces(image), image.shape)
    return image, face.box


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_small_shrinks_the_face_to_40_to_60_pixels(photo_and_box):
    image, box = photo_and_box

    small = degrade(image, "small", box, rng())

    face = central_face(detect_faces(small, min_face_size=12), small.shape)
    assert 36 <= face.size <= 64


def test_grey_leaves_no_colour(photo_and_box):
    image, box = photo_and_box

    grey = degrade(image, "grey", box, rng())

    assert np.array_equal(grey[..., 0], grey[..., 1])
    assert np.array_equal(grey[..., 1], grey[..., 2])


def test_side_light_darkens_one_half_of_the_face(photo_and_box):
    image, box = photo_and_box
    x, y, w, h = box

    lit = degrade(image, "side_light", box, rng()).astype(float)

    left = lit[y : y + h, x : x + w // 3].mean() / image[y : y + h, x : x + w // 3].mean()
    right = (
        lit[y : y + h, x + 2 * w // 3 : x + w].mean()
        / image[y : y + h, x + 2 * w // 3 : x + w].mean()
    )
    assert max(left, right) > 1.1
    assert min(left, right) < 0.6


def test_tight_crop_is_the_face_and_little_else(photo_and_box):
    image, box = photo_and_box

    crop = degrade(image, "tight_crop", box, rng())

    assert box[2] <= crop.shape[1] <= box[2] * 1.1 + 1
    assert box[3] <= crop.shape[0] <= box[3] * 1.1 + 1


def test_the_figures_count_strangers_and_reviews_as_the_headings_say():
    counts = Counts(
        enrolled_shown=100,
        strangers_shown=200,
        auto_right=90,
        auto_wrong=1,
        strangers_auto=1,
        review=8,
        review_right=6,
    )

    assert counts.auto_precision == pytest.approx(90 / 92)
    assert counts.auto_recall == pytest.approx(0.90)
    assert counts.strangers_auto_rate == pytest.approx(0.005)
    assert counts.review_load == pytest.approx(8 / 300)
    assert counts.recall_with_review == pytest.approx(0.96)


def test_the_best_single_threshold_keeps_strangers_within_the_limit_and_counts_students_under_it():
    # 400 strangers at 1.00, 1.01, ...: a 0.5% limit lets 2 of them under the threshold.
    strangers = 1.0 + np.arange(400) / 100
    counts = Counts(genuine=[0.5, 1.005, 1.015, 1.02, 1.5], stranger_nearest=list(strangers))

    # Under 1.02 (the third stranger): 2 strangers and the first three students.
    assert counts.best_threshold_recall(0.005) == pytest.approx(3 / 5)


def test_pooled_counts_keep_every_face_s_distances():
    first = Counts(genuine=[0.5], stranger_nearest=[1.2])
    first.add(Counts(enrolled_shown=3, genuine=[0.7], stranger_nearest=[1.1, 1.3]))

    assert first.enrolled_shown == 3
    assert first.genuine == [0.5, 0.7]
    assert first.stranger_nearest == [1.2, 1.1, 1.3]
