"""Champion vs challenger: `python -m benchmarks champion`.

Does a head trained in the app on one school's students beat the model that serves? The school is
built from the LFW people the shipped head never trained on (the trainer's own held-out split,
``benchmarks.openset.heldout_people``): so the champion (the shipped head) was trained without
them first. Their first photos are the students' reference photos; ``--heldout`` of the students
are kept out of training. The challenger is trained exactly as the Face model page does
(``facerec.training.installation.train_installation_head``, from the shipped head, with the
installation's settings) on the others; both are then decided as class photos are
(``evaluate_openset``: half the held-out students enrolled, half strangers, then swapped) on
the clean photos and on every degraded condition of the open-set benchmark (the references stay
clean; the shown photos are degraded and go through the capture pipeline, detection included).

Backbone vectors are cached under ``facerec.datasets.cache_dir()``; a cold run detects and embeds
every photo of the school once per condition.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.openset import CONDITIONS, QUALITY_FIELDS, SYNTH_VERSION, degrade, heldout_people

CACHE_FORMAT = 1


def school(root: Path) -> dict[str, list[str]]:
    """{person: photos} of the held-out LFW people with 3+ photos (up to 6 each), by name."""
    people = heldout_people(root)
    return {p: people[p] for p in sorted(people) if len(people[p]) >= 3}


def clean_vectors(root: Path, files: list[str]) -> np.ndarray:
    from facerec.alignment import DEFAULT_METHOD
    from facerec.training.embeddings import embeddings

    return embeddings(root, DEFAULT_METHOD, flip=False, files=files, log=io.StringIO())


def condition_vectors(root: Path, files: list[str], condition: str, log) -> dict[str, np.ndarray]:
    """Backbone vectors, found flags and quality of every photo degraded by ``condition`` and
    run through ``facerec.analyze_photo`` (the face at the photo's centre), cached."""
    from facerec.datasets import cache_dir
    from facerec.detection import central_face, settings_key
    from facerec.imageio import load_image
    from facerec.model import backbone_key
    from facerec.pipeline import analyze_photo
    from facerec.training.embeddings import fallback_face

    text = "|".join(
        [backbone_key(), settings_key(), condition, str(SYNTH_VERSION), str(CACHE_FORMAT), *files]
    )
    path = cache_dir() / f"champion-{condition}-{hashlib.sha1(text.encode()).hexdigest()[:12]}.npz"
    if path.exists():
        return dict(np.load(path))
    n, start = len(files), time.time()
    out = {"x": np.zeros((n, 512), np.float32), "found": np.zeros(n, bool)}
    out |= {k: np.zeros(n, np.float32) for k in QUALITY_FIELDS}
    for i, name in enumerate(files):
        image = load_image(root / name)
        rng = np.random.default_rng(
            int(hashlib.sha1(f"{condition}|{name}".encode()).hexdigest()[:8], 16)
        )
        photo = degrade(image, condition, fallback_face(image.shape).box, rng)
        faces = analyze_photo(photo).faces
        chosen = central_face([f.face for f in faces], photo.shape)
        face = next((f for f in faces if f.face is chosen), None)
        if face is not None and face.backbone is not None:
            out["x"][i], out["found"][i] = face.backbone, True
            for k in QUALITY_FIELDS:
                out[k][i] = getattr(face.quality, k)
        if i % 200 == 0:
            print(f"{condition}: {i}/{n} photos, {time.time() - start:.0f}s", file=log, flush=True)
    np.savez(path, **out)
    return out


def _qualities(data: dict[str, np.ndarray], rows=None) -> list:
    from facerec.quality import FaceQuality

    types = {k: (int if k == "size" else float) for k in QUALITY_FIELDS}
    rows = range(len(data["found"])) if rows is None else rows
    if "size" not in data:  # clean photos: quality not measured
        return [None for _ in rows]
    return [
        FaceQuality(**{k: t(data[k][i]) for k, t in types.items()}) if data["found"][i] else None
        for i in rows
    ]


def run(root: Path, *, heldout: int, conditions: tuple[str, ...], seed: int, log) -> dict:
    from facerec.model import current_head, metadata, model_info
    from facerec.training.installation import (
        INSTALLATION_CONFIG,
        evaluate_openset,
        promotion_verdict,
        split_students,
        train_installation_head,
    )

    people = school(root)
    files = [f for fs in people.values() for f in fs]
    labels = np.array([f.split("/")[0] for f in files])
    x = clean_vectors(root, files)
    train, held = split_students(labels, heldout=heldout, seed=seed)
    info = model_info()
    start = time.time()
    trained = train_installation_head(
        x[train],
        labels[train],
        start=current_head(),
        start_thresholds=(info.threshold, info.review_threshold),
        config=INSTALLATION_CONFIG,
    )
    seconds = time.time() - start
    margin = float(metadata().get("match_margin", 0.05))
    models = {
        "champion": (current_head(), info.threshold, info.review_threshold),
        "challenger": (trained.head, trained.threshold, trained.review_threshold),
    }
    rows: dict[str, dict] = {}
    xs, ls = x[held], labels[held]
    views: dict[str, dict[str, np.ndarray]] = {}
    for condition in conditions:
        kwargs: dict = {}
        if condition == "clean":
            views[condition] = {"x": xs, "found": np.ones(len(xs), bool)}
        else:
            data = condition_vectors(root, [files[i] for i in np.flatnonzero(held)], condition, log)
            kwargs = {"shown": data["x"], "found": data["found"], "qualities": _qualities(data)}
            views[condition] = data
        scores = {
            name: evaluate_openset(
                head, xs, ls, threshold=t, review_threshold=r, margin=margin, seed=seed, **kwargs
            )
            for name, (head, t, r) in models.items()
        }
        rows[condition] = scores | {
            "reasons": promotion_verdict(scores["challenger"], scores["champion"])
        }
    term = {g: simulate_term(xs, ls, views, grow=g, seed=seed) for g in (False, True)}
    return {
        "term": term,
        "train_students": len(set(labels[train])),
        "train_photos": int(train.sum()),
        "heldout_students": len(set(ls)),
        "heldout_photos": int(held.sum()),
        "improved": trained.improved,
        "seconds": seconds,
        "thresholds": {k: (round(v[1], 4), round(v[2], 4)) for k, v in models.items()},
        "rows": rows,
    }


def simulate_term(
    x: np.ndarray,
    labels: np.ndarray,
    shown: dict[str, dict[str, np.ndarray]],
    *,
    grow: bool,
    sessions: int = 10,
    seed: int = 0,
) -> dict:
    """Ten sessions of one roster with the shipped head: half the students enrolled from their
    first two clean photos, half strangers. Session s shows every person's photo number
    ``s mod (their photos)`` (beyond the references), the conditions in turn and the last
    session clean; the teacher
    confirms every face whose suggestion is right. With ``grow``, a confirmed face joins its
    student's gallery (GROWN_PER_STUDENT, oldest replaced), as ``attendance.services.gallery``
    does, except faces of the photo the last session shows (in any condition): that photo must
    be new to the gallery for the last session's recall to mean anything. Returns the last
    session's automatic recall and the strangers auto-marked over the term."""
    from facerec.matching import calibrate_gallery, match_faces
    from facerec.model import current_head, model_info

    cap = 3
    head, info = current_head(), model_info()
    y = head(x)
    views = {c: head(d["x"]) for c, d in shown.items()}
    people = sorted(set(labels.tolist()))
    order = np.random.default_rng(seed).permutation(len(people))
    enrolled = [people[i] for i in order[: len(people) // 2]]
    rows = {p: np.flatnonzero(labels == p) for p in people}
    refs = {p: [y[r] for r in rows[p][:2]] for p in enrolled}
    grown: dict[str, list[np.ndarray]] = {p: [] for p in enrolled}
    last = {p: rows[p][2:][(sessions - 1) % len(rows[p][2:])] for p in people if len(rows[p]) > 2}
    names = list(shown)
    recall, strangers_auto, stranger_faces = 0.0, 0, 0
    for session in range(sessions):
        # The conditions in turn, ending on the first (clean photos) in the last session: there
        # the quality gates send no face to review, so what the gallery holds decides.
        condition = names[(session - sessions + 1) % len(names)]
        gallery_labels = [p for p in enrolled for _ in refs[p] + grown[p]]
        gallery = np.stack([v for p in enrolled for v in refs[p] + grown[p]])
        threshold = calibrate_gallery(gallery, gallery_labels).threshold
        faces = [(p, rows[p][2:][session % len(rows[p][2:])]) for p in people if len(rows[p]) > 2]
        faces = [(p, r) for p, r in faces if shown[condition]["found"][r]]
        matches = match_faces(
            views[condition][[r for _, r in faces]],
            gallery,
            gallery_labels,
            threshold=threshold,
            review_threshold=info.review_threshold,
            qualities=_qualities(shown[condition], [r for _, r in faces]),
        )
        right = 0
        for (person, row), match in zip(faces, matches, strict=True):
            if person not in grown:
                stranger_faces += 1
                strangers_auto += match.decision == "auto"
                continue
            right += match.decision == "auto" and match.label == person
            confirmed = match.label == person and match.decision in ("auto", "review")
            if grow and confirmed and row != last[person]:
                grown[person] = [*grown[person], views[condition][row]][-cap:]
        recall = right / len(enrolled)
    return {"recall_last": recall, "strangers_auto": strangers_auto, "strangers": stranger_faces}


def format_table(result: dict) -> str:
    def pct(v: float) -> str:
        return f"{100 * v:.1f}%"

    lines = [
        f"school: {result['train_students']} students / {result['train_photos']} photos trained "
        f"on, {result['heldout_students']} held-out students / {result['heldout_photos']} "
        f"photos evaluated on; training {result['seconds']:.0f} s, improved on validation: "
        f"{result['improved']}; thresholds (accept, review): {result['thresholds']}",
        "",
        f"{'condition':<12} {'model':<11} {'faces':>6} {'precision':>9} {'recall':>7} "
        f"{'strangers':>9} {'review':>7} {'accuracy':>8}  verdict",
    ]
    for condition, row in result["rows"].items():
        for name in ("champion", "challenger"):
            s = row[name]
            verdict = ""
            if name == "challenger":
                verdict = "promotable" if not row["reasons"] else "; ".join(row["reasons"])
            lines.append(
                f"{condition:<12} {name:<11} {s.faces:>6} {pct(s.precision):>9} "
                f"{pct(s.recall):>7} {pct(s.false_accept_rate):>9} {pct(s.review_load):>7} "
                f"{pct(s.accuracy):>8}  {verdict}"
            )
    lines += ["", "simulated term (10 sessions, shipped head, conditions in turn):"]
    for grow, t in result["term"].items():
        lines.append(
            f"  {'growing' if grow else 'not growing':<12} session-10 automatic recall "
            f"{pct(t['recall_last'])}, strangers auto-marked {t['strangers_auto']} of "
            f"{t['strangers']} faces"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks champion", description=__doc__)
    parser.add_argument("--datasets", type=Path, default=None, help="default: $ROLLCALL_DATASETS")
    parser.add_argument("--heldout", type=int, default=60, help="students kept out of training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--conditions",
        default="clean," + ",".join(CONDITIONS[1:]),
        help="comma-separated: clean and any of " + ", ".join(CONDITIONS[1:]),
    )
    args = parser.parse_args(argv)
    from facerec.datasets import datasets_dir

    root = datasets_dir(args.datasets) / "lfw"
    if not root.is_dir():
        print(f"No LFW at {root}; pass --datasets or set ROLLCALL_DATASETS.")
        return 2
    conditions = tuple(c for c in args.conditions.split(",") if c)
    result = run(root, heldout=args.heldout, conditions=conditions, seed=args.seed, log=sys.stderr)
    print(format_table(result))
    return 0
