"""Synthetic class photos composed from a folder-per-person face dataset (LFW).

A "class photo" here is a canvas (a wall-like background) with one tile per person, each tile a
central crop of one of their photos: different photo sizes, face scales, positions and JPEG
qualities, with the truth (who is where) kept next to the JPEG. Tests and the
``bench_attendance`` command build rosters and photos with it; nothing here imports TensorFlow.

    roster = build_roster(lfw_dir, enrolled=30, strangers=5, seed=1)
    photo = compose_class_photo(roster.probe_faces(), width=1920, height=1080, seed=1)
    photo.jpeg, photo.faces  # bytes, [PlacedFace(person, source, box)]
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from facerec.datasets import people_images

# The central part of a 250x250 LFW photo: the labelled person's head with a little margin,
# leaving out most of the background where other people sometimes stand.
LFW_HEAD_BOX = (45, 35, 205, 215)


@dataclass(frozen=True)
class PlacedFace:
    """One person in a composed photo. ``box`` is the tile (x, y, width, height) in pixels."""

    person: str
    source: Path
    box: tuple[int, int, int, int]

    def contains(self, x: float, y: float) -> bool:
        bx, by, bw, bh = self.box
        return bx <= x < bx + bw and by <= y < by + bh


@dataclass(frozen=True)
class ClassPhoto:
    jpeg: bytes
    width: int
    height: int
    quality: int
    faces: list[PlacedFace]

    def rgb(self) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(self.jpeg)).convert("RGB"))

    def person_at(self, x: float, y: float) -> str | None:
        """Who was placed where the point (e.g. a detected face's centre) falls; None if nobody."""
        for face in self.faces:
            if face.contains(x, y):
                return face.person
        return None


@dataclass
class Roster:
    """People for a test or benchmark course.

    enrolled: person -> reference photo paths (``references_per_person`` each).
    probes: person -> photos never used as references (for class photos).
    strangers: person -> photos; people who are not enrolled at all.
    """

    enrolled: dict[str, list[Path]] = field(default_factory=dict)
    probes: dict[str, list[Path]] = field(default_factory=dict)
    strangers: dict[str, list[Path]] = field(default_factory=dict)

    def probe_faces(
        self, present: list[str] | None = None, strangers: list[str] | None = None, seed: int = 0
    ) -> list[tuple[str, Path]]:
        """(person, photo) pairs for a class photo: one probe photo of each present person and
        of each stranger (all of them when not given)."""
        rng = random.Random(seed)
        present = list(self.probes) if present is None else present
        strangers = list(self.strangers) if strangers is None else strangers
        chosen = [(p, rng.choice(self.probes[p])) for p in present]
        chosen += [(s, rng.choice(self.strangers[s])) for s in strangers]
        return chosen


def build_roster(
    root: str | Path,
    *,
    enrolled: int,
    strangers: int,
    references_per_person: int = 2,
    seed: int = 0,
    exclude: set[str] | frozenset = frozenset(),
) -> Roster:
    """Pick ``enrolled`` people with more photos than references (so a photo is left for class
    photos) and ``strangers`` other people. Deterministic for a given seed."""
    people = people_images(root)
    rng = random.Random(seed)
    eligible = sorted(p for p, paths in people.items() if len(paths) > references_per_person)
    eligible = [p for p in eligible if p not in exclude]
    if len(eligible) < enrolled:
        raise ValueError(f"only {len(eligible)} people have {references_per_person + 1}+ photos")
    chosen = rng.sample(eligible, enrolled)
    roster = Roster()
    for person in chosen:
        paths = people[person]
        roster.enrolled[person] = paths[:references_per_person]
        roster.probes[person] = paths[references_per_person:]
    others = sorted(p for p in people if p not in roster.enrolled and p not in exclude)
    for person in rng.sample(others, strangers):
        roster.strangers[person] = people[person]
    return roster


def head_tile(path: str | Path, width: int, *, rng: random.Random | None = None) -> Image.Image:
    """The head crop of an LFW photo scaled to ``width`` pixels wide, lightly varied in
    brightness and contrast (different lighting in different parts of a room)."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        if image.size == (250, 250):
            image = image.crop(LFW_HEAD_BOX)
        height = round(width * image.height / image.width)
        tile = image.resize((width, height), Image.Resampling.LANCZOS)
    if rng is not None:
        tile = ImageEnhance.Brightness(tile).enhance(rng.uniform(0.8, 1.15))
        tile = ImageEnhance.Contrast(tile).enhance(rng.uniform(0.85, 1.1))
    return tile


def background(width: int, height: int, rng: random.Random) -> Image.Image:
    """A plain wall: a soft vertical gradient in a random pale colour with a little noise."""
    top = np.array([rng.randint(150, 230) for _ in range(3)], np.float32)
    bottom = top * rng.uniform(0.55, 0.85)
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    wall = top * (1 - ramp) + bottom * ramp
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 4, (height, width, 3))
    return Image.fromarray(np.clip(wall + noise, 0, 255).astype(np.uint8))


def _grid(count: int, width: int, height: int, aspect: float) -> tuple[int, int, float]:
    """Columns, rows and cell width fitting ``count`` tiles of height/width ``aspect``."""
    best = (1, count, 0.0)
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        cell = min(width / cols, height / (rows * aspect))
        if cell > best[2]:
            best = (cols, rows, cell)
    return best


def compose_class_photo(
    people: list[tuple[str, Path]],
    *,
    width: int = 1920,
    height: int = 1080,
    quality: int = 85,
    scale: tuple[float, float] = (0.7, 0.95),
    max_tile: int = 300,
    seed: int = 0,
) -> ClassPhoto:
    """Lay ``people`` (person, photo path) out on a grid with jitter, in random order.

    scale: each tile fills this fraction (min, max) of its grid cell, so face sizes vary within
        a photo; max_tile caps the tile width (a handful of people do not fill the frame).
    """
    rng = random.Random(seed)
    order = list(people)
    rng.shuffle(order)
    aspect = (LFW_HEAD_BOX[3] - LFW_HEAD_BOX[1]) / (LFW_HEAD_BOX[2] - LFW_HEAD_BOX[0])
    cols, rows, cell = _grid(len(order), width, height, aspect)
    cell = min(cell, max_tile / scale[1])
    cell_h = cell * aspect
    left = (width - cols * cell) / 2
    top = (height - rows * cell_h) / 2
    canvas = background(width, height, rng)
    placed = []
    for i, (person, path) in enumerate(order):
        row, col = divmod(i, cols)
        tile_w = max(24, int(cell * rng.uniform(*scale)))
        tile = head_tile(path, tile_w, rng=rng)
        x = int(left + col * cell + rng.uniform(0, cell - tile.width))
        y = int(top + row * cell_h + rng.uniform(0, max(0.0, cell_h - tile.height)))
        canvas.paste(tile, (x, y))
        placed.append(PlacedFace(person, Path(path), (x, y, tile.width, tile.height)))
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=quality)
    return ClassPhoto(buffer.getvalue(), width, height, quality, placed)


def tight_portrait(image: np.ndarray, *, tightness: float = 0.6) -> np.ndarray:
    """A square cut around the largest face of ``image`` (H, W, 3 uint8 RGB), ``tightness`` times
    the detector's box side: 1.0 is the box itself, 0.6 leaves only eyes, nose and mouth in the
    frame (an ID photo cropped to the face). The cut stays inside the image."""
    from facerec.detection import detect_faces

    faces = detect_faces(image, min_face_size=20)
    if not faces:
        raise ValueError("no face to cut a portrait around")
    face = max(faces, key=lambda f: f.size)
    cx, cy = face.center
    side = round(max(face.box[2], face.box[3]) * tightness)
    x0, y0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
    return np.ascontiguousarray(image[y0 : y0 + side, x0 : x0 + side])


def jpeg_bytes(path: str | Path) -> bytes:
    return Path(path).read_bytes()


def write_y4m(image: np.ndarray, path: str | Path, *, frames: int = 2, fps: int = 10) -> Path:
    """Write an RGB image as a short raw YUV 4:2:0 video (.y4m): Chromium's fake camera reads it
    (``--use-file-for-fake-video-capture``) and loops it. Width and height must be even."""
    rgb = np.asarray(image, np.float32)
    height, width = rgb.shape[:2]
    if width % 2 or height % 2:
        rgb = rgb[: height - height % 2, : width - width % 2]
        height, width = rgb.shape[:2]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # BT.601 full range ("C420jpeg"), as a JPEG decoder would produce it.
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128

    def plane(values: np.ndarray) -> bytes:
        return np.clip(values + 0.5, 0, 255).astype(np.uint8).tobytes()

    def half(values: np.ndarray) -> np.ndarray:
        return values.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))

    frame = b"FRAME\n" + plane(y) + plane(half(u)) + plane(half(v))
    header = f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode()
    path = Path(path)
    path.write_bytes(header + frame * frames)
    return path
