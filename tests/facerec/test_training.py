"""Training helpers: people are held out whole, pairs are what they claim, and the loss is
the contrastive loss."""

from __future__ import annotations

import numpy as np
import pytest

from facerec.training import best_threshold, split_people, tar_at_far, validation_pairs

LABELS = np.array(["alice"] * 5 + ["bob"] * 4 + ["charlie"] * 3 + [f"p{i}" for i in range(20)])


def test_validation_people_never_appear_in_training():
    train, val = split_people(LABELS, share=0.34, seed=0)

    assert set(LABELS[train]).isdisjoint(LABELS[val])
    assert len(set(LABELS[val])) == 1  # one of the three people with 2+ photos


def test_validation_pairs_are_labelled_correctly():
    left, right, same = validation_pairs(LABELS, np.random.default_rng(0), count=10)

    assert same.sum() == (~same).sum() == 10
    assert np.array_equal(LABELS[left] == LABELS[right], same)
    assert np.all(left != right)


def test_the_best_threshold_separates_perfectly_separable_pairs():
    distance = np.array([0.2, 0.4, 0.5, 1.1, 1.3])
    same = np.array([True, True, True, False, False])

    assert best_threshold(distance, same) == pytest.approx(0.8)
    assert tar_at_far(distance, same, far=0.0) == 1.0


@pytest.mark.slow
def test_the_contrastive_loss_pulls_same_pairs_and_pushes_close_strangers():
    from facerec.training import contrastive_loss

    loss = contrastive_loss(margin=1.4)
    distance = np.array([[0.5], [1.0], [1.5]], np.float32)
    same = np.array([[1.0], [0.0], [0.0]], np.float32)

    # (0.5^2 + (1.4 - 1.0)^2 + 0) / 3
    assert float(loss(same, distance)) == pytest.approx((0.25 + 0.16) / 3, abs=1e-6)


def test_cached_detections_are_not_reused_once_the_detector_settings_change(monkeypatch, tmp_path):
    from facerec import detection
    from facerec.training import embeddings

    before = embeddings._detections_path(tmp_path, "", mirrored=False)
    monkeypatch.setattr(detection, "PYRAMID_STEP", 0.8)

    assert embeddings._detections_path(tmp_path, "", mirrored=False) != before
