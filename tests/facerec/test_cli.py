"""`python -m facerec` commands, run in-process on real photos."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facerec import model_info
from facerec.cli import main

pytestmark = [pytest.mark.datasets, pytest.mark.slow, pytest.mark.usefixtures("models_loaded")]


def lfw(datasets, name: str, number: int) -> str:
    return str(datasets / "lfw" / name / f"{name}_{number:04d}.jpg")


def test_detect_prints_one_json_line_per_photo(datasets, capsys):
    friends = datasets / "group_photos" / "friends_multiface.jpg"

    assert main(["detect", str(friends)]) == 0

    line = json.loads(capsys.readouterr().out)
    assert line["path"] == str(friends)
    assert len(line["faces"]) == 6
    assert set(line["faces"][0]) == {"box", "landmarks", "score"}


def test_verify_says_two_photos_of_one_person_are_the_same(datasets, capsys):
    code = main(["verify", lfw(datasets, "Abel_Pacheco", 1), lfw(datasets, "Abel_Pacheco", 4)])

    assert code == 0
    assert capsys.readouterr().out.strip().endswith("same person")


def test_verify_says_two_people_are_different(datasets, capsys):
    main(["verify", lfw(datasets, "Afton_Smith", 1), lfw(datasets, "Dwayne_Wade", 1)])

    assert capsys.readouterr().out.strip().endswith("different people")


def test_embed_writes_every_face_or_only_the_central_one(datasets, tmp_path):
    photos = [
        str(datasets / "group_photos" / "friends_multiface.jpg"),
        lfw(datasets, "Afton_Smith", 1),
    ]

    main(["embed", *photos, "--out", str(tmp_path / "all.npz")])
    main(["embed", *photos, "--central-only", "--out", str(tmp_path / "central.npz")])

    every, central = np.load(tmp_path / "all.npz"), np.load(tmp_path / "central.npz")
    assert every["embedding"].shape == (7, model_info().embedding_dim)
    assert every["landmarks"].shape == (7, 5, 2)
    assert central["path"].tolist() == photos
    assert np.linalg.norm(central["embedding"], axis=1) == pytest.approx([1, 1], abs=1e-5)


def test_a_photo_without_a_face_is_an_error_not_a_crash(datasets, capsys):
    dogs = str(datasets / "group_photos" / "no_faces_dogs.jpg")

    assert main(["verify", dogs, dogs]) == 2
    assert "no_face_found" in capsys.readouterr().err
