"""LFW's View 2 pairs protocol: ten folds of same-person and different-person pairs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


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
