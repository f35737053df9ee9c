"""The face pipeline on real photos: detection, alignment, embedding and reference checks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facerec import (
    FaceRecError,
    align_face,
    analyze_photo,
    detect_faces,
    embed_faces,
    embed_reference_photo,
    face_chips,
    face_distance,
    model_info,
)

pytestmark = [pytest.mark.datasets, pytest.mark.slow, pytest.mark.usefixtures("models_loaded")]

# Pairs from LFW View 2 (lfw_pairs.txt): (name, image, name, image).
SAME_PERSON = [
    ("Abel_Pacheco", 1, "Abel_Pacheco", 4),
    ("Akhmed_Zakayev", 1, "Akhmed_Zakayev", 3),
    ("Amber_Tamblyn", 1, "Amber_Tamblyn", 2),
    ("Anders_Fogh_Rasmussen", 1, "Anders_Fogh_Rasmussen", 3),
]
DIFFERENT_PEOPLE = [
    ("Abdel_Madi_Shabneh", 1, "Dean_Barker", 1),
    ("Abdul_Rahman", 1, "Portia_de_Rossi", 1),
    ("Abel_Pacheco", 1, "Jong_Thae_Hwa", 2),
    ("Afton_Smith", 1, "Dwayne_Wade", 1),
]


def embedding_of(lfw_photo, name: str, number: int) -> np.ndarray:
    return embed_reference_photo(lfw_photo(name, number)).embedding


def test_friends_photo_has_six_faces_left_to_right(group_photo):
    image = group_photo("friends_multiface.jpg")

    faces = detect_faces(image)

    assert len(faces) == 6
    assert [f.box[0] for f in faces] == sorted(f.box[0] for f in faces)
    for face in faces:
        x, y, w, h = face.box
        assert 0 <= x <= x + w <= image.shape[1]
        assert 0 <= y <= y + h <= image.shape[0]
        assert face.score > 0.9 and len(face.landmarks) == 5
        left_eye, right_eye = face.landmarks[0], face.landmarks[1]
        assert left_eye[0] < right_eye[0]


def test_a_photo_of_dogs_has_no_faces(group_photo):
    assert detect_faces(group_photo("no_faces_dogs.jpg")) == []


def test_aligned_crops_are_square_rgb_of_the_asked_size(lfw_photo):
    image = lfw_photo("Abel_Pacheco", 1)
    (face,) = detect_faces(image)

    assert align_face(image, face).shape == (160, 160, 3)
    assert align_face(image, face, size=112).dtype == np.uint8


def test_embeddings_are_unit_vectors_and_batching_does_not_change_them(lfw_photo):
    crops, chips = [], []
    for name, number in [("Abel_Pacheco", 1), ("Amber_Tamblyn", 1), ("Afton_Smith", 1)]:
        image = lfw_photo(name, number)
        face = detect_faces(image)[0]
        crops.append(align_face(image, face))
        chips += face_chips(image, [face]) or [None]

    if chips[0] is None:
        chips = None  # a FaceNet-only model needs no dlib chips
    together = embed_faces(crops, chips=chips)
    one_by_one = np.concatenate(
        [embed_faces([crop], chips=chips and [chips[i]]) for i, crop in enumerate(crops)]
    )

    assert together.shape == (3, model_info().embedding_dim) and together.dtype == np.float32
    assert np.linalg.norm(together, axis=1) == pytest.approx([1, 1, 1], abs=1e-5)
    assert np.abs(together - one_by_one).max() < 1e-4


def test_no_crops_give_an_empty_embedding_matrix():
    assert embed_faces([]).shape == (0, model_info().embedding_dim)


@pytest.mark.parametrize("pair", SAME_PERSON, ids=lambda p: p[0])
def test_two_photos_of_one_person_are_within_the_threshold(lfw_photo, pair):
    a, b = embedding_of(lfw_photo, *pair[:2]), embedding_of(lfw_photo, *pair[2:])

    assert face_distance(a[None], b)[0] <= model_info().threshold


@pytest.mark.parametrize("pair", DIFFERENT_PEOPLE, ids=lambda p: f"{p[0]}-{p[2]}")
def test_photos_of_two_people_are_beyond_the_review_threshold(lfw_photo, pair):
    a, b = embedding_of(lfw_photo, *pair[:2]), embedding_of(lfw_photo, *pair[2:])

    assert face_distance(a[None], b)[0] > model_info().review_threshold


def test_analyze_photo_embeds_every_face_and_times_each_stage(group_photo):
    timings: dict[str, float] = {}

    analysis = analyze_photo(group_photo("friends_multiface.jpg"), timings=timings)
    faces = analysis.faces

    assert len(faces) == 6 and analysis.too_small == []
    assert all(f.crop.shape == (160, 160, 3) for f in faces)
    assert all(abs(np.linalg.norm(f.embedding) - 1) < 1e-5 for f in faces)
    assert set(timings) == {"decode_ms", "detect_ms", "align_ms", "embed_ms"}
    # Six different people: nobody is within the threshold of anybody else.
    distance = face_distance(
        np.stack([f.embedding for f in faces]), np.stack([f.embedding for f in faces])
    )
    assert distance[~np.eye(6, dtype=bool)].min() > model_info().threshold


def test_analyze_photo_decodes_file_bytes_itself(datasets):
    data = (datasets / "group_photos" / "friends_multiface.jpg").read_bytes()

    analysis = analyze_photo(data)

    assert len(analysis.faces) == 6
    assert (analysis.width, analysis.height) == (1200, 630)


def test_a_reference_photo_gives_its_one_face(lfw_photo):
    reference = embed_reference_photo(lfw_photo("Abel_Pacheco", 1))

    assert reference.face.size > 80
    assert reference.embedding.shape == (model_info().embedding_dim,)


def test_a_group_photo_is_refused_as_a_reference(group_photo):
    with pytest.raises(FaceRecError) as error:
        embed_reference_photo(group_photo("friends_multiface.jpg"))

    assert error.value.code == "several_faces"
    assert (
        error.value.message == "Six faces were found; upload a photo that shows only the student."
    )


def test_a_portrait_with_a_smaller_person_behind_gives_the_main_face(lfw_photo):
    # Carlos_Menem_0003: a 103 px face in the centre, a 70 px one at the side behind him.
    image = lfw_photo("Carlos_Menem", 3)
    assert len(detect_faces(image)) == 2

    reference = embed_reference_photo(image)

    cx, cy = reference.face.center
    assert reference.face.size > 90
    assert abs(cx - 125) < 30 and abs(cy - 125) < 30


def test_two_people_equally_in_view_are_refused_as_a_reference(lfw_photo):
    side_by_side = np.hstack([lfw_photo("Abel_Pacheco", 1), lfw_photo("Amber_Tamblyn", 1)])

    with pytest.raises(FaceRecError) as error:
        embed_reference_photo(side_by_side)

    assert error.value.code == "several_faces"
    assert error.value.message.startswith("Two faces were found")


def test_a_soft_low_contrast_photo_is_still_a_reference(lfw_photo):
    # Sharpness 18 (the old gate refused it below 25; a sigma-2 blur scores ~8): soft, but
    # recognisable.
    reference = embed_reference_photo(lfw_photo("David_Dewhurst", 1))

    assert reference.face.size > 80


def test_a_photo_without_a_face_is_refused_as_a_reference(group_photo):
    with pytest.raises(FaceRecError) as error:
        embed_reference_photo(group_photo("no_faces_dogs.jpg"))

    assert error.value.code == "no_face_found"
    assert "No face was found" in error.value.message


def test_a_tiny_face_is_refused_as_a_reference(lfw_photo):
    small = cv2.resize(lfw_photo("Abel_Pacheco", 1), (110, 110), interpolation=cv2.INTER_AREA)

    with pytest.raises(FaceRecError) as error:
        embed_reference_photo(small)

    assert error.value.code == "face_too_small"
    assert "at least 60 pixels" in error.value.message


def test_a_blurred_face_is_refused_as_a_reference(lfw_photo):
    blurred = cv2.GaussianBlur(lfw_photo("Abel_Pacheco", 1), (0, 0), sigmaX=3)

    with pytest.raises(FaceRecError) as error:
        embed_reference_photo(blurred)

    assert error.value.code == "face_too_blurry"
