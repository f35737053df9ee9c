"""facerec's settings: the one reader of the environment variables the library uses.

Each reader checks its variable and raises ``ConfigurationError`` naming it. A process that uses
facerec calls ``validate_environment()`` at start-up (RollCall's Django system check does), so a
typo stops it there instead of half-working until TensorFlow first loads.

    ROLLCALL_TF_THREADS   TensorFlow intra-op threads; 0 or blank = all cores
    ROLLCALL_FACE_MODEL   the trained model's metadata JSON; blank = the shipped one
    ROLLCALL_DATASETS     folder of face datasets (training, tests, benchmarks)
    ROLLCALL_CACHE        folder for cached dataset embeddings; blank = ~/.cache/rollcall
"""

from __future__ import annotations

import os
from pathlib import Path

from facerec.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VARIABLES = ("ROLLCALL_TF_THREADS", "ROLLCALL_FACE_MODEL", "ROLLCALL_DATASETS", "ROLLCALL_CACHE")


def _raw(name: str) -> str | None:
    """The variable's value, or None when it is unset or blank (``FOO=`` in an env file)."""
    raw = os.environ.get(name)
    return None if raw is None or not raw.strip() else raw.strip()


def tf_threads() -> int:
    """ROLLCALL_TF_THREADS: TensorFlow's intra-op thread count; 0 (the default) means all cores."""
    raw = _raw("ROLLCALL_TF_THREADS")
    if raw is None:
        return 0
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigurationError(
            "ROLLCALL_TF_THREADS", f"ROLLCALL_TF_THREADS must be a whole number >= 0, got {raw!r}"
        )
    return value


def face_model_path(default: Path) -> Path:
    """ROLLCALL_FACE_MODEL: the metadata JSON of the model to use, else ``default``."""
    raw = _raw("ROLLCALL_FACE_MODEL")
    if raw is None:
        return default
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ConfigurationError(
            "ROLLCALL_FACE_MODEL",
            f"ROLLCALL_FACE_MODEL must name a model's metadata JSON file, got {raw!r} "
            f"({'a folder' if path.is_dir() else 'no such file'})",
        )
    return path


def datasets_path() -> Path:
    """ROLLCALL_DATASETS: the face datasets folder, else ../shared/datasets beside the project.

    It may be missing (tests and benchmarks then skip with the reason); it may not be a file."""
    return _folder("ROLLCALL_DATASETS", PROJECT_ROOT.parent / "shared" / "datasets")


def cache_path() -> Path:
    """ROLLCALL_CACHE: where cached dataset embeddings go, else ~/.cache/rollcall."""
    return _folder("ROLLCALL_CACHE", Path.home() / ".cache" / "rollcall")


def _folder(name: str, default: Path) -> Path:
    raw = _raw(name)
    if raw is None:
        return default
    path = Path(raw).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigurationError(name, f"{name} must be a folder, got {raw!r} (a file)")
    return path


def environment_errors() -> list[ConfigurationError]:
    """Every problem with facerec's environment variables, one error per bad variable."""
    errors = []
    for read in (tf_threads, lambda: face_model_path(Path()), datasets_path, cache_path):
        try:
            read()
        except ConfigurationError as error:
            errors.append(error)
    return errors


def validate_environment() -> None:
    """Raise the first ``ConfigurationError`` among facerec's environment variables, if any."""
    errors = environment_errors()
    if errors:
        raise errors[0]
