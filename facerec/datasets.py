"""Where the shared face datasets live, the disk cache, and folder-per-person datasets."""

from __future__ import annotations

import os
from pathlib import Path

from facerec.config import cache_path, datasets_path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def datasets_dir(override: str | os.PathLike | None = None) -> Path:
    """The datasets folder: ``override``, else $ROLLCALL_DATASETS, else ../shared/datasets."""
    return Path(override) if override else datasets_path()


def cache_dir() -> Path:
    """Disk cache for expensive results (embeddings): env ROLLCALL_CACHE or ~/.cache/rollcall."""
    path = cache_path()
    path.mkdir(parents=True, exist_ok=True)
    return path


def people_images(root: str | os.PathLike) -> dict[str, list[Path]]:
    """A folder-per-person dataset as {person: sorted image paths}; imageless folders dropped."""
    people: dict[str, list[Path]] = {}
    for folder in sorted(Path(root).iterdir()):
        if folder.is_dir():
            images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if images:
                people[folder.name] = images
    return people
