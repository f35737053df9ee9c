"""Shared fixtures: real photos from the shared datasets folder, models loaded once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facerec import load_image
from facerec.datasets import datasets_dir

DATASETS = datasets_dir()
NO_DATA = f"face datasets not found at {DATASETS} (set ROLLCALL_DATASETS to the shared folder)"


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not (DATASETS / "lfw").is_dir() or not (DATASETS / "group_photos").is_dir():
        pytest.skip(NO_DATA)
    return DATASETS


@pytest.fixture(scope="session")
def lfw_photo(datasets):
    """Returns a loader: lfw_photo("George_W_Bush", 1) -> (250, 250, 3) uint8."""

    def load(name: str, number: int) -> np.ndarray:
        return load_image(datasets / "lfw" / name / f"{name}_{number:04d}.jpg")

    return load


@pytest.fixture(scope="session")
def group_photo(datasets):
    def load(name: str) -> np.ndarray:
        return load_image(datasets / "group_photos" / name)

    return load


@pytest.fixture(scope="session")
def models_loaded(datasets, face_models) -> None:
    """The detector and the backbone, warmed once per run for every folder (tests.support.faces)."""
