"""Command line: `python -m facerec detect|verify|embed|train|bench`.

`bench` lives in the top-level benchmarks/ package now; this command runs it in a child process
(`python -m benchmarks lfw|variants`), so facerec never imports the benchmarks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from facerec.errors import FaceRecError


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except FaceRecError as exc:
        print(f"error ({exc.code}): {exc.message}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m facerec", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="command")

    detect = sub.add_parser("detect", help="list the faces found in photos (JSON lines)")
    detect.add_argument("paths", nargs="+", type=Path)
    detect.add_argument(
        "--min-face-size", type=int, default=12, help="smallest face to search for, pixels (12)"
    )
    detect.set_defaults(run=cmd_detect)

    verify = sub.add_parser("verify", help="are the main faces of two photos the same person?")
    verify.add_argument("a", type=Path)
    verify.add_argument("b", type=Path)
    verify.set_defaults(run=cmd_verify)

    embed = sub.add_parser("embed", help="write every face's box, landmarks, score, embedding")
    embed.add_argument("paths", nargs="+", type=Path)
    embed.add_argument("--out", type=Path, required=True, help="output .npz")
    embed.add_argument("--central-only", action="store_true", help="keep the most central face")
    embed.set_defaults(run=cmd_embed)

    train = sub.add_parser("train", help="train the Siamese head on a folder-per-person dataset")
    train.add_argument("--data", type=Path, required=True, help="folder with one folder per person")
    train.add_argument("--out", type=Path, default=None, help="model folder (default: shipped)")
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--force", action="store_true", help="write even if not better")
    train.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="average each face with its mirror image (default: as the current model)",
    )
    train.add_argument(
        "--backbones",
        choices=["facenet", "facenet,dlib"],
        default="facenet,dlib",
        help="the head's input: FaceNet alone, or FaceNet and dlib (default)",
    )
    train.set_defaults(run=cmd_train)

    bench = sub.add_parser(
        "bench", help="moved: runs `python -m benchmarks lfw` (or `variants`) with these options"
    )
    bench.add_argument("--datasets", type=Path, default=None, help="default: $ROLLCALL_DATASETS")
    bench.add_argument("--quick", action="store_true", help="a small subset, for a smoke test")
    bench.add_argument(
        "--variants",
        action="store_true",
        help="LFW only: other crops, ensembles and centring against the product (~45 min cold)",
    )
    bench.set_defaults(run=cmd_bench)
    return parser


def cmd_detect(args: argparse.Namespace) -> int:
    from facerec.detection import detect_faces
    from facerec.imageio import load_image

    for path in args.paths:
        faces = detect_faces(load_image(path), min_face_size=args.min_face_size)
        print(json.dumps({"path": str(path), "faces": [_face_json(f) for f in faces]}))
    return 0


def _face_json(face) -> dict:
    return {
        "box": list(face.box),
        "landmarks": [[round(x, 1), round(y, 1)] for x, y in face.landmarks],
        "score": round(face.score, 4),
    }


def _main_face(path: Path):
    """The most central face of a photo, analysed."""
    from facerec.detection import central_face
    from facerec.imageio import load_image
    from facerec.pipeline import analyze_photo

    image = load_image(path)
    faces = analyze_photo(image).faces
    if not faces:
        raise FaceRecError("no_face_found", f"No face was found in {path}.")
    chosen = central_face([f.face for f in faces], image.shape)
    return next(f for f in faces if f.face is chosen)


def cmd_verify(args: argparse.Namespace) -> int:
    from facerec.matching import face_distance
    from facerec.model import model_info

    info = model_info()
    a, b = _main_face(args.a), _main_face(args.b)
    distance = float(face_distance(a.embedding[None], b.embedding)[0])
    if distance <= info.threshold:
        decision = "same person"
    elif distance <= info.review_threshold:
        decision = "uncertain: needs a person's review"
    else:
        decision = "different people"
    print(
        f"distance {distance:.4f} (accept <= {info.threshold:.4f}, "
        f"review <= {info.review_threshold:.4f}): {decision}"
    )
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from facerec.detection import central_face
    from facerec.imageio import load_image
    from facerec.pipeline import analyze_photo

    rows: dict[str, list] = {k: [] for k in ("path", "box", "landmarks", "score", "embedding")}
    for path in args.paths:
        image = load_image(path)
        faces = analyze_photo(image).faces
        if args.central_only and faces:
            chosen = central_face([f.face for f in faces], image.shape)
            faces = [f for f in faces if f.face is chosen]
        for face in faces:
            rows["path"].append(str(path))
            rows["box"].append(face.face.box)
            rows["landmarks"].append(face.face.landmarks)
            rows["score"].append(face.face.score)
            rows["embedding"].append(face.embedding)
        print(f"{path}: {len(faces)} face(s)", file=sys.stderr)
    np.savez(
        args.out,
        path=np.array(rows["path"], dtype=str),
        box=np.array(rows["box"], np.int32).reshape(-1, 4),
        landmarks=np.array(rows["landmarks"], np.float32).reshape(-1, 5, 2),
        score=np.array(rows["score"], np.float32),
        embedding=np.array(rows["embedding"], np.float32).reshape(len(rows["path"]), -1),
    )
    print(f"wrote {len(rows['path'])} faces to {args.out}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from facerec.training import train_and_save

    if args.backbones == "facenet,dlib":
        from facerec.training import fusion

        return fusion.train_and_save(args.data, args.out, epochs=args.epochs, force=args.force)
    return train_and_save(args.data, args.out, epochs=args.epochs, force=args.force, flip=args.flip)


def cmd_bench(args: argparse.Namespace) -> int:
    name = "variants" if args.variants else "lfw"
    argv = [*(["--datasets", str(args.datasets)] if args.datasets else [])]
    argv += ["--quick"] if args.quick and not args.variants else []
    print(
        f"The benchmarks moved to benchmarks/: running python -m benchmarks {name}", file=sys.stderr
    )
    # benchmarks/ sits beside facerec/ in the project, not inside it: put the project on the path.
    project = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.pathsep.join(p for p in (project, os.environ.get("PYTHONPATH", "")) if p)
    command = [sys.executable, "-m", "benchmarks", name, *argv]
    return subprocess.call(command, env={**os.environ, "PYTHONPATH": path})
