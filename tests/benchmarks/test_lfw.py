"""The benchmark's comparison rows: crop margins, head/view ensembles and centring.

These run on small synthetic embeddings: what is checked is the protocol (each fold scored by
its own heads, centring on people outside the fold), not LFW accuracy, which `make bench`
measures.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks.lfw import heads_scores, lfw_scores, normalize
from benchmarks.lfw_pairs import Pair
from benchmarks.variants import centred_scores
from facerec.alignment import BOX_MARGIN, box_matrix
from facerec.model import Head


def _toy_lfw(seed: int = 0) -> SimpleNamespace:
    """Two folds of 20 people x 2 photos (16-d): same-person photos close, strangers apart."""
    rng = np.random.default_rng(seed)
    people = [f"p{i}" for i in range(40)]
    centres = normalize(rng.normal(size=(40, 16)))
    x = normalize(np.repeat(centres, 2, axis=0) + 0.1 * rng.normal(size=(80, 16)))
    labels = np.repeat(people, 2)
    files = [f"{p}/{p}_{n}.jpg" for p in people for n in (1, 2)]
    pairs = []
    for fold in (0, 1):
        ids = range(fold * 20, fold * 20 + 20)
        pairs += [Pair(fold, files[2 * i], files[2 * i + 1], True) for i in ids]
        # Each person's first photo against the next person's (the last against the first).
        strangers = zip(ids, [*ids[1:], ids[0]], strict=True)
        pairs += [Pair(fold, files[2 * i], files[2 * j], False) for i, j in strangers]
    index = {f: i for i, f in enumerate(files)}
    return SimpleNamespace(
        x=x.astype(np.float32),
        pairs=pairs,
        labels=labels,
        left=np.array([index[p.left] for p in pairs]),
        right=np.array([index[p.right] for p in pairs]),
        same=np.array([p.same for p in pairs]),
        fold=np.array([p.fold for p in pairs]),
    )


def test_identity_heads_on_one_view_score_exactly_the_backbone():
    data = _toy_lfw()
    identity = [[Head.identity(16)], [Head.identity(16)]]

    accs, tar = heads_scores(data, identity, [data.x])

    expected_accs, expected_tar = lfw_scores(data, data.x)
    assert accs.tolist() == expected_accs.tolist()
    assert tar == expected_tar


def scramble(x: np.ndarray) -> np.ndarray:
    """A "head" that forgets who anyone is: its fold can only be scored at chance."""
    return normalize(np.random.default_rng(1).normal(size=x.shape))


@pytest.mark.parametrize("broken_fold", [0, 1])
def test_each_fold_is_scored_with_its_own_heads(broken_fold):
    data = _toy_lfw()
    heads = [[Head.identity(16)], [Head.identity(16)]]
    heads[broken_fold] = [scramble]

    accs, _ = heads_scores(data, heads, [data.x])

    # Had one fold's heads scored both folds, the other order of the parameters would score the
    # broken fold as well as the backbone (100% on these faces).
    assert accs[broken_fold] <= 0.6


def test_centring_removes_any_offset_shared_by_every_face():
    data = _toy_lfw()
    offset = np.full(16, 5.0, np.float32)  # large enough to squeeze all faces together

    centred = centred_scores(data, data.x)
    centred_with_offset = centred_scores(data, data.x + offset)

    squeezed = normalize(data.x + offset)
    assert np.linalg.norm(squeezed[data.left] - squeezed[data.right], axis=1).max() < 0.2
    assert np.allclose(centred_with_offset[0], centred[0])
    assert centred[0].mean() > 0.9


def test_a_wider_box_margin_brings_the_face_nearer_the_crop_centre():
    box = (100, 80, 60, 80)
    corner = np.array([100.0, 80.0, 1.0])  # the detector box's top-left corner

    product = box_matrix(box, 160) @ corner
    wider = box_matrix(box, 160, margin=0.5) @ corner

    assert np.allclose(box_matrix(box, 160, margin=BOX_MARGIN), box_matrix(box, 160))
    assert np.all(wider > product)  # the box starts further inside the crop
    assert np.all(product > 0)


def test_the_variants_command_says_what_data_it_needs(tmp_path, capsys):
    from benchmarks.cli import main

    (tmp_path / "group_photos").mkdir()

    assert main(["variants", "--datasets", str(tmp_path)]) == 2
    assert f"variants needs lfw/ and lfw_pairs.txt under {tmp_path}" in capsys.readouterr().out
