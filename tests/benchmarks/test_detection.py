"""The detection benchmark's counting of group-photo faces, at the photo's size and rescaled.

Checked on hand-made boxes and a blank image: what is checked is the counting (which marked face
a detection matches, where a marked box goes when the photo is resized), not the detector, which
`python -m benchmarks detection` measures.
"""

from __future__ import annotations

import numpy as np

from benchmarks.detection import match_marked, rescale


def test_a_marked_face_is_found_by_a_box_overlapping_it_enough():
    marked = [(100, 100, 40, 40), (300, 100, 40, 40)]
    # IoU with the first: 30x40 / (40x40 + 40x40 - 30x40) = 0.6; with the second 600 / 2600 = 0.23
    found = [(110, 100, 40, 40), (325, 100, 40, 40)]

    assert match_marked(marked, found) == {0}


def test_one_detection_matches_one_marked_face_only():
    marked = [(100, 100, 40, 40), (104, 100, 40, 40)]

    assert len(match_marked(marked, [(102, 100, 40, 40)])) == 1
    assert match_marked(marked, [(104, 100, 40, 40), (100, 100, 40, 40)]) == {0, 1}


def test_a_photo_with_no_detection_or_no_marked_face_matches_nothing():
    assert match_marked([(0, 0, 10, 10)], []) == set()
    assert match_marked([], [(0, 0, 10, 10)]) == set()


def test_rescaling_resizes_the_photo_and_moves_the_marked_boxes_with_it():
    image = np.zeros((200, 300, 3), np.uint8)
    image[50:90, 100:140] = 255  # a 40 px white square where the face is marked

    bigger, boxes = rescale(image, [(100, 50, 40, 40)], 1.25)

    assert bigger.shape == (250, 375, 3)
    assert boxes == [(125, 62, 50, 50)]  # 62.5 rounds to the even 62
    x, y, w, h = boxes[0]
    assert bigger[y + 2 : y + h - 2, x + 2 : x + w - 2].min() == 255
    assert bigger[y + h + 2, x + w // 2].max() == 0


def test_shrinking_and_the_unit_factor():
    image = np.zeros((200, 300, 3), np.uint8)

    smaller, boxes = rescale(image, [(100, 50, 41, 41)], 0.8)
    same, same_boxes = rescale(image, [(100, 50, 41, 41)], 1.0)

    assert smaller.shape == (160, 240, 3)
    assert boxes == [(80, 40, 33, 33)]
    assert same is image
    assert same_boxes == [(100, 50, 41, 41)]
