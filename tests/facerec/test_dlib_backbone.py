"""The second backbone: dlib's face descriptor, rebuilt in TensorFlow from dlib's own weights."""

from __future__ import annotations

import numpy as np
import pytest

from facerec import detect_faces, load_image
from facerec.detection import central_face
from facerec.dlib_backbone import (
    CHIP_SIZE,
    EMBEDDING_DIM,
    dlib_descriptors,
    dlib_embed,
    face_chip,
    read_weights,
)

PEOPLE = ["Colin_Powell", "Tony_Blair", "Jacques_Chirac", "Vladimir_Putin", "Serena_Williams"]


def chip_of(image: np.ndarray) -> np.ndarray:
    face = central_face(detect_faces(image), image.shape)
    assert face is not None
    return face_chip(image, face.box)


@pytest.fixture(scope="module")
def hundred_chips(datasets) -> np.ndarray:
    """dlib chips of the first photo of 100 LFW people (alphabetical, every 50th person)."""
    people = sorted(p for p in (datasets / "lfw").iterdir() if p.is_dir())[::50][:100]
    return np.stack([chip_of(load_image(sorted(p.glob("*.jpg"))[0])) for p in people])


def test_the_weights_are_the_29_conv_layers_and_the_128_d_projection_of_dlibs_resnet():
    weights = read_weights()

    assert len(weights.convs) == 29
    assert weights.convs[0].kernel.shape == (7, 7, 3, 32)
    assert weights.convs[-1].kernel.shape == (3, 3, 256, 256)
    assert [c.stride for c in weights.convs].count(2) == 5
    assert weights.fc.shape == (256, 128)


@pytest.mark.slow  # detects faces (MTCNN) and runs the dlib port
def test_the_tensorflow_port_gives_dlibs_own_descriptors_on_100_lfw_faces(hundred_chips):
    import dlib

    from facerec.dlib_backbone import weights_path

    net = dlib.face_recognition_model_v1(str(weights_path()))
    expected = np.array([list(d) for d in net.compute_face_descriptor(list(hundred_chips))])

    ours = dlib_descriptors(hundred_chips)

    assert hundred_chips.shape == (100, CHIP_SIZE, CHIP_SIZE, 3)
    assert ours.shape == (100, EMBEDDING_DIM)
    assert np.abs(ours - expected).max() < 1e-4


@pytest.mark.slow  # detects faces (MTCNN) and runs the dlib port
def test_the_same_person_is_closer_than_anyone_else(lfw_photo):
    chips = np.stack([chip_of(lfw_photo(name, n)) for name in PEOPLE for n in (1, 2)])
    vectors = dlib_embed(chips)
    distance = np.linalg.norm(vectors[:, None] - vectors[None], axis=2)
    same = np.repeat(np.arange(len(PEOPLE)), 2)
    mates = same[:, None] == same[None]
    np.fill_diagonal(mates, False)
    strangers = same[:, None] != same[None]

    assert np.linalg.norm(vectors, axis=1) == pytest.approx(np.ones(10), abs=1e-5)
    assert distance[mates].max() < distance[strangers].min()


@pytest.mark.slow  # detects faces (MTCNN) and runs the dlib port
def test_a_chip_is_dlibs_150_pixel_aligned_face(lfw_photo):
    chip = chip_of(lfw_photo("Colin_Powell", 1))

    assert chip.shape == (CHIP_SIZE, CHIP_SIZE, 3)
    assert chip.dtype == np.uint8


def test_chips_of_the_wrong_size_are_refused():
    with pytest.raises(ValueError, match="150"):
        dlib_descriptors(np.zeros((1, 160, 160, 3), np.uint8))
