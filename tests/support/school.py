"""An installation built from LFW people the shipped head never trained on, with cached vectors.

Each student's reference photos are real LFW photos; their backbone vectors (the serving head's
input) come from ``facerec.training.embeddings`` (the real detector, alignment and backbones; the
FaceNet vectors cached on disk under ROLLCALL_CACHE), so a test builds 50 students in a second
once the cache is warm (about 3 s more when the serving model also uses dlib, whose vectors of a
subset are not cached).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PHOTOS_PER_STUDENT = 4


def school_people(count: int, lfw: Path) -> dict[str, list[str]]:
    """{person: PHOTOS_PER_STUDENT photo paths relative to lfw} of ``count`` people held out of
    the shipped head's training (the open-set benchmark's people), in name order."""
    from benchmarks.openset import heldout_people

    people = heldout_people(lfw)
    chosen = [p for p in sorted(people) if len(people[p]) >= PHOTOS_PER_STUDENT][:count]
    if len(chosen) < count:
        raise RuntimeError(f"only {len(chosen)} held-out LFW people with 4 photos")
    return {p: people[p][:PHOTOS_PER_STUDENT] for p in chosen}


def backbone_vectors(lfw: Path, files: list[str]) -> np.ndarray:
    """(N, D) backbone vectors of ``files``, the serving model's head input (D =
    ``facerec.model.backbone_dim()``: FaceNet's, fused with dlib's when the model uses it)."""
    import io

    from facerec.alignment import DEFAULT_METHOD
    from facerec.model import backbones, uses_dlib
    from facerec.training.embeddings import dlib_embeddings, embeddings
    from facerec.training.fusion import model_inputs

    log = io.StringIO()
    facenet = embeddings(lfw, DEFAULT_METHOD, flip=False, files=files, log=log)
    if not uses_dlib():
        return facenet
    return model_inputs(backbones(), facenet, dlib_embeddings(lfw, files, log=log))


if __name__ == "__main__":  # warm the cache: python -m tests.support.school
    import sys

    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/datasets/lfw")
    chosen = school_people(int(sys.argv[2]) if len(sys.argv) > 2 else 50, root)
    files = [f for fs in chosen.values() for f in fs]
    print(backbone_vectors(root, files).shape)
