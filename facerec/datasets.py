"""Where the shared face datasets live, and readers for LFW and its View 2 pairs protocol."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def datasets_dir(override: str | os.PathLike | None = None) -> Path:
    """The datasets folder: ``override``, else $ROLLCALL_DATASETS, else ../shared/datasets."""
    if override:
        return Path(override)
    env = os.environ.get("ROLLCALL_DATASETS")
    return Path(env) if env else PROJECT_ROOT.parent / "shared" / "datasets"


def cache_dir() -> Path:
    """Disk cache for expensive results (embeddings): env ROLLCALL_CACHE or ~/.cache/rollcall."""
    path = Path(os.environ.get("ROLLCALL_CACHE", Path.home() / ".cache" / "rollcall"))
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


@dataclass(frozen=True)
class Pair:
    """One LFW View 2 pair: two image paths relative to the lfw folder, same person or not."""

    fold: int
    left: str
    right: str
    same: bool


def lfw_image(name: str, number: int) -> str:
    return f"{name}/{name}_{number:04d}.jpg"


def read_pairs(path: str | os.PathLike) -> list[Pair]:
    """Parse lfw_pairs.txt: first line "folds n", then per fold n same and n different pairs."""
    lines = Path(path).read_text().split("\n")
    folds, per_fold = (int(v) for v in lines[0].split())
    rows = [line.split() for line in lines[1:] if line.strip()]
    pairs = []
    for index, row in enumerate(rows[: folds * per_fold * 2]):
        fold = index // (2 * per_fold)
        if len(row) == 3:
            pairs.append(
                Pair(fold, lfw_image(row[0], int(row[1])), lfw_image(row[0], int(row[2])), True)
            )
        else:
            pairs.append(
                Pair(fold, lfw_image(row[0], int(row[1])), lfw_image(row[2], int(row[3])), False)
            )
    return pairs


def pair_fold_people(pairs: list[Pair]) -> dict[int, set[str]]:
    """People appearing in each fold's pairs (LFW View 2 folds share no person)."""
    people: dict[int, set[str]] = {}
    for pair in pairs:
        people.setdefault(pair.fold, set()).update(
            (pair.left.split("/")[0], pair.right.split("/")[0])
        )
    return people
