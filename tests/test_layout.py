"""The layers of the README's architecture: facerec stands without Django, attendance without
TensorFlow, and neither needs the benchmarks."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


# What each package must never import, as the README's architecture table says.
FORBIDDEN = {
    "facerec": {"django", "rest_framework", "celery", "attendance", "config", "benchmarks"},
    "attendance": {"benchmarks", "tensorflow", "keras"},
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_never_imports_what_its_layer_forbids(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN[package]
        )
        for path in (ROOT / package).rglob("*.py")
    }

    assert {path: mods for path, mods in offenders.items() if mods} == {}


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    from benchmarks.lfw import run\n")

    assert imported_modules(sneaky) == {"benchmarks.lfw"}


def test_facerec_bench_runs_the_moved_benchmark(tmp_path):
    missing = tmp_path / "no-such-folder"

    done = subprocess.run(
        [sys.executable, "-m", "facerec", "bench", "--datasets", str(missing)],
        cwd=tmp_path,  # outside the project: facerec must still find benchmarks/
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 2
    assert "running python -m benchmarks lfw" in done.stderr
    assert f"No datasets folder at {missing}" in done.stdout


def test_python_m_benchmarks_lists_each_benchmark():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    for name in ("lfw", "variants", "attendance", "reports"):
        assert f"  {name} " in done.stdout
