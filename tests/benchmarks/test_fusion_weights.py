"""The plain-sum row picks the dlib weight per test fold on the nine others; each fold must then
be thresholded in its own weight's distance scale, not in a mix of the other folds' weights."""

import numpy as np

from benchmarks.fusion import choose_per_fold


def test_each_fold_is_thresholded_in_the_scale_of_the_weight_chosen_for_it():
    # Three folds of two same-person (True) and two different-person pairs. Weight "a" is in
    # scale 1 and errs once in folds 1 and 2; weight "b" is the same ranking x10 and errs once
    # in fold 0. So fold 0 picks "b" (clean on folds 1-2), folds 1 and 2 pick "a" (tie: first).
    same = np.array([True, True, False, False] * 3)
    fold = np.repeat([0, 1, 2], 4)
    clean = np.array([0.4, 0.4, 0.6, 0.6])
    err = np.array([0.4, 0.7, 0.6, 0.6])  # one same-person pair looks different
    a = np.concatenate([clean, err, err])
    b = 10 * np.concatenate([err, clean, clean])

    accs, chosen = choose_per_fold({"a": a, "b": b}, same, fold)

    assert chosen == ["b", "a", "a"]
    # Fold 0 under "b" with a threshold learnt on folds 1-2 under "b": only its own error.
    # (Thresholding it with folds 1-2's "a" distances, scale 1, would call every pair different.)
    assert accs.tolist() == [0.75, 0.75, 0.75]
