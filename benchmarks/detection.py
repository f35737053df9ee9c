"""Detection benchmark: does the detector find what is there, how fast, in how much memory.

    python -m benchmarks detection            # (or make bench / make bench-detection)
    python -m benchmarks detection --quick    # fewer photos, sizes and repeats

Rows:
- group photos: the 43 hand-marked faces of the annotated PASCAL photos (IoU >= 0.4, one
  detection per marked face), detections matching no marked face, detections on the dogs photo;
- rescaled group photos: the same photos and marked boxes scaled by 0.8-1.6x (0.9 / 1.0 / 1.25x
  with --quick), found and false per size and in total: MTCNN's pyramid falls differently on
  every face at every size, so a face found at one size only is luck, not recall;
- tight portraits: LFW photos cut to ``tightness`` x the detector's box around the face (0.6 =
  the face fills the frame), how many give exactly one face, with and without the border retry;
- tiny faces: LFW people composed into a back-row photo with faces of 11-15 px: how many are
  reported as too small (none may be dropped);
- timings: a 250x250 LFW photo, a 30-face 1920x1080 class photo and a 30-face 12 MP photo, from
  the JPEG bytes to matches against a 30-person gallery (decode, detect, align, embed, match; the
  database writes of the web app are not in it), median of repeats;
- peak memory: a child process analyses a 36 MP PNG; its peak resident memory during the
  analysis (Linux VmHWM after resetting it), minus what it held before (models loaded).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.lfw import Box, match_marked, read_marked_faces
from facerec.datasets import datasets_dir

TIGHTNESS = (0.6, 0.7, 0.8, 1.0)
MEMORY_LIMIT_GIB = 1.5


@dataclass
class Row:
    name: str
    value: str
    note: str = ""


def format_table(rows: list[Row]) -> str:
    widths = [max(len(r.name) for r in rows), max(len(r.value) for r in rows)]
    lines = [
        f"| {'measure':<{widths[0]}} | {'result':<{widths[1]}} | note",
        f"|{'-' * (widths[0] + 2)}|{'-' * (widths[1] + 2)}|------",
    ]
    lines += [f"| {r.name:<{widths[0]}} | {r.value:<{widths[1]}} | {r.note}" for r in rows]
    return "\n".join(lines)


# --- group photos -------------------------------------------------------------------------------


def rescale(image: np.ndarray, marked: list[Box], factor: float) -> tuple[np.ndarray, list[Box]]:
    """``image`` resized by ``factor`` (INTER_AREA when shrinking, INTER_LINEAR when growing)
    and its marked boxes scaled with it, each coordinate rounded to a pixel."""
    import cv2

    boxes = [tuple(round(v * factor) for v in box) for box in marked]
    if factor == 1:
        return image, boxes
    height, width = image.shape[:2]
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    size = (round(width * factor), round(height * factor))
    return cv2.resize(image, size, interpolation=interpolation), boxes


def group_rows(datasets: Path) -> list[Row]:
    from facerec import detect_faces, load_image

    group_dir = datasets / "group_photos"
    found = total = false = 0
    missed = []
    for name, marked in sorted(read_marked_faces(group_dir).items()):
        faces = detect_faces(load_image(group_dir / name))
        hit = match_marked(marked, [f.box for f in faces])
        missed += [f"{name} {marked[r]}" for r in range(len(marked)) if r not in hit]
        found, total, false = found + len(hit), total + len(marked), false + len(faces) - len(hit)
    dogs = len(detect_faces(load_image(group_dir / "no_faces_dogs.jpg")))
    return [
        Row("group photos: marked faces found", f"{found}/{total}", "; ".join(missed)),
        Row("group photos: false faces", str(false), "detections matching no marked face"),
        Row("dogs photo: faces", str(dogs), "a photo with no human face"),
    ]


RESCALED = (0.8, 0.9, 1.0, 1.1, 1.25, 1.4, 1.6)
# --quick: the benchmark's own size and one either side (about 3/7 of the time).
RESCALED_QUICK = (0.9, 1.0, 1.25)


def rescaled_rows(datasets: Path, factors: tuple[float, ...]) -> list[Row]:
    from facerec import detect_faces, load_image

    group_dir = datasets / "group_photos"
    photos = [
        (name, load_image(group_dir / name), marked)
        for name, marked in sorted(read_marked_faces(group_dir).items())
    ]
    rows, missed_at = [], {}  # (photo, marked box at 1x): the factors where it was missed
    found_all = total_all = false_all = 0
    for factor in factors:
        found = total = false = 0
        for name, photo, marked in photos:
            image, boxes = rescale(photo, marked, factor)
            faces = detect_faces(image)
            hit = match_marked(boxes, [f.box for f in faces])
            for r in set(range(len(marked))) - hit:
                missed_at.setdefault((name, marked[r]), []).append(f"{factor:g}x")
            found += len(hit)
            total += len(marked)
            false += len(faces) - len(hit)
        rows.append(Row(f"group photos at {factor:g}x: found, false", f"{found}/{total}, {false}"))
        found_all, total_all, false_all = found_all + found, total_all + total, false_all + false
    missed = "; ".join(
        f"{name} {box} missed at {', '.join(at)}" for (name, box), at in sorted(missed_at.items())
    )
    rows.append(
        Row(
            f"group photos at {len(factors)} sizes: found, false",
            f"{found_all}/{total_all}, {false_all}",
            missed or "every marked face found at every size",
        )
    )
    return rows


# --- tight portraits ----------------------------------------------------------------------------


def lfw_sample(datasets: Path, count: int, seed: int = 5) -> list[Path]:
    import random

    people = sorted(p for p in (datasets / "lfw").iterdir() if p.is_dir())
    return [sorted(p.iterdir())[0] for p in random.Random(seed).sample(people, count)]


def tight_rows(datasets: Path, count: int) -> list[Row]:
    import facerec.detection as detection
    from benchmarks.synth import tight_portrait
    from facerec import load_image

    images = [load_image(path) for path in lfw_sample(datasets, count)]
    rows = []
    for tightness in TIGHTNESS:
        portraits = [tight_portrait(image, tightness=tightness) for image in images]
        with_border = sum(len(detection.detect_faces(p)) == 1 for p in portraits)
        pads, detection.TIGHT_CROP_PADS = detection.TIGHT_CROP_PADS, ()
        try:
            without = sum(len(detection.detect_faces(p)) == 1 for p in portraits)
        finally:
            detection.TIGHT_CROP_PADS = pads
        side = statistics.median(p.shape[0] for p in portraits)
        rows.append(
            Row(
                f"tight portraits {tightness:.1f}x box: one face",
                f"{with_border}/{len(portraits)}",
                f"without the border retry {without}/{len(portraits)}; median side {side:.0f} px",
            )
        )
    return rows


# --- tiny faces ---------------------------------------------------------------------------------


def tiny_rows(datasets: Path) -> list[Row]:
    from benchmarks.synth import build_roster, compose_class_photo
    from facerec import analyze_photo

    rows = []
    for count, width, height in ((12, 640, 360), (40, 1280, 720)):
        roster = build_roster(datasets / "lfw", enrolled=count, strangers=0, seed=3)
        people = [(person, paths[0]) for person, paths in roster.probes.items()]
        photo = compose_class_photo(
            people, width=width, height=height, scale=(1.0, 1.0), max_tile=24
        )
        analysis = analyze_photo(photo.jpeg)
        sizes = [small.face.size for small in analysis.too_small]
        placed = {photo.person_at(*s.face.center) for s in analysis.too_small} - {None}
        rows.append(
            Row(
                f"tiny faces, {width}x{height}: reported too small",
                f"{len(placed)}/{count}",
                f"{len(analysis.faces)} embedded; sizes {min(sizes, default=0)}-"
                f"{max(sizes, default=0)} px; none dropped (every detection is in the result)",
            )
        )
    return rows


# --- timings ------------------------------------------------------------------------------------


def class_photo(datasets: Path, width: int, height: int, faces: int = 30, *, max_tile=300):
    """A JPEG class photo of ``faces`` LFW people and their reference embeddings' gallery."""
    from benchmarks.synth import build_roster, compose_class_photo

    roster = build_roster(datasets / "lfw", enrolled=faces, strangers=0, seed=1)
    people = [(person, paths[0]) for person, paths in roster.probes.items()]
    photo = compose_class_photo(people, width=width, height=height, max_tile=max_tile, seed=1)
    return photo, roster


def gallery(roster) -> tuple[np.ndarray, list[str]]:
    from facerec import embed_reference_photo, load_image

    vectors, labels = [], []
    for person, paths in roster.enrolled.items():
        vectors.append(embed_reference_photo(load_image(paths[0])).embedding)
        labels.append(person)
    return np.stack(vectors), labels


def upload_to_matches(data: bytes, embeddings: np.ndarray, labels: list[str]):
    from facerec import analyze_photo, match_faces

    analysis = analyze_photo(data)
    probes = np.stack([f.embedding for f in analysis.faces]) if analysis.faces else None
    matches = match_faces(probes, embeddings, labels) if probes is not None else []
    return analysis, matches


def detect_only(data: bytes) -> int:
    from facerec import detect_faces, load_image

    return len(detect_faces(load_image(data)))


def median_seconds(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn`` (CPU time of this process, all its threads: on a
    shared, loaded machine the wall time grows with the load, the CPU time much less)."""
    fn()  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def timing_rows(datasets: Path, repeats: int) -> list[Row]:
    lfw = (datasets / "lfw" / "Abel_Pacheco" / "Abel_Pacheco_0001.jpg").read_bytes()
    hd, roster = class_photo(datasets, 1920, 1080)
    embeddings, labels = gallery(roster)
    phone, _ = class_photo(datasets, 4000, 3000, max_tile=500)
    rows = []
    for name, data, budget in (
        ("250x250 LFW photo", lfw, None),
        ("1920x1080, 30 faces", hd.jpeg, 3.0),
        ("4000x3000 (12 MP), 30 faces", phone.jpeg, 6.0),
    ):
        analysis, matches = upload_to_matches(data, embeddings, labels)
        seconds, cpu = median_seconds(
            lambda d=data: upload_to_matches(d, embeddings, labels), repeats
        )
        detect = median_seconds(lambda d=data: detect_only(d), repeats)
        auto = sum(m.decision == "auto" for m in matches)
        note = f"{len(analysis.faces)} faces embedded, {auto} auto-matched"
        note += f", {len(analysis.too_small)} too small; CPU {cpu:.2f} s; decode + detect "
        note += f"{detect[0]:.2f} s wall, {detect[1]:.2f} s CPU; median of {repeats}"
        if budget:
            note += f"; target < {budget:g} s"
        rows.append(Row(f"bytes -> matches, {name}", f"{seconds:.2f} s", note))
    return rows


# --- memory -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryUse:
    before: int  # resident bytes before the analysis (models loaded)
    peak: int  # peak resident bytes during the analysis
    faces: int
    seconds: float

    @property
    def added(self) -> int:
        return self.peak - self.before


def large_png(path: Path, datasets: Path, width: int = 7360, height: int = 4912) -> Path:
    """A 36 MP PNG: the friends photo (six faces) scaled up on a plain background."""
    import cv2
    from PIL import Image

    from facerec import load_image

    friends = load_image(datasets / "group_photos" / "friends_multiface.jpg")
    scale = width / friends.shape[1]
    big = cv2.resize(friends, (width, round(friends.shape[0] * scale)), cv2.INTER_LINEAR)
    canvas = np.full((height, width, 3), 200, np.uint8)
    top = (height - big.shape[0]) // 2
    canvas[top : top + big.shape[0]] = big
    Image.fromarray(canvas).save(path, format="PNG", compress_level=1)
    return path


def measure_analysis_memory(image: Path) -> MemoryUse:
    """Analyse ``image`` in a fresh Python process and report its resident memory (Linux)."""
    command = [sys.executable, "-m", "benchmarks.detection", "--memory-child", str(image)]
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=root, env=env)
    values = json.loads(done.stdout.strip().splitlines()[-1])
    return MemoryUse(**values)


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _memory_child(image: str) -> None:
    import gc

    from facerec import analyze_photo, load_image

    datasets = datasets_dir()
    analyze_photo(load_image(datasets / "lfw" / "Abel_Pacheco" / "Abel_Pacheco_0001.jpg"))
    gc.collect()
    # Writing 5 resets the peak (VmHWM) to the current resident size: the peak read after the
    # analysis is then the analysis's own, including OpenCV's and TensorFlow's native buffers.
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_bytes("VmRSS")
    start = time.perf_counter()
    analysis = analyze_photo(Path(image).read_bytes())
    seconds = time.perf_counter() - start
    peak = _status_bytes("VmHWM")
    faces = len(analysis.faces) + len(analysis.too_small)
    print(json.dumps({"before": before, "peak": peak, "faces": faces, "seconds": seconds}))


def memory_rows(datasets: Path) -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        use = measure_analysis_memory(large_png(Path(folder) / "36mp.png", datasets))
    gib = 1024**3
    return [
        Row(
            "36 MP PNG (7360x4912): peak memory added",
            f"{use.added / gib:.2f} GiB",
            f"target < {MEMORY_LIMIT_GIB} GiB; process peak {use.peak / gib:.2f} GiB with "
            f"models loaded; {use.faces} faces; {use.seconds:.1f} s",
        )
    ]


SECTIONS = ("group", "rescaled", "tight", "tiny", "timings", "memory")


def run(
    datasets: Path, *, quick: bool, sections: tuple[str, ...] = SECTIONS
) -> Iterator[list[Row]]:
    """The table's sections, each as soon as it is measured."""
    measure = {
        "group": lambda: group_rows(datasets),
        "rescaled": lambda: rescaled_rows(datasets, RESCALED_QUICK if quick else RESCALED),
        "tight": lambda: tight_rows(datasets, 20 if quick else 60),
        "tiny": lambda: tiny_rows(datasets),
        "timings": lambda: timing_rows(datasets, 2 if quick else 5),
        "memory": lambda: memory_rows(datasets),
    }
    for section in sections:
        yield measure[section]()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks detection", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer photos, sizes and repeats")
    parser.add_argument("--datasets", help="folder with lfw/ and group_photos/")
    parser.add_argument(
        "--only", help=f"comma-separated sections to run, of {','.join(SECTIONS)} (default all)"
    )
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        _memory_child(args.memory_child)
        return 0
    datasets = datasets_dir(args.datasets)
    if not (datasets / "lfw").is_dir() or not (datasets / "group_photos").is_dir():
        print(f"face datasets not found at {datasets}; pass --datasets", file=sys.stderr)
        return 2
    load = os.getloadavg()[0]
    print(f"# Detection benchmark ({os.cpu_count()} cores, load average {load:.1f} at start)")
    sections = tuple(args.only.split(",")) if args.only else SECTIONS
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    for rows in run(datasets, quick=args.quick, sections=sections):
        print(format_table(rows), flush=True)
    print(f"(load average {os.getloadavg()[0]:.1f} at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
