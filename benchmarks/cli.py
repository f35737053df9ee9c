"""`python -m benchmarks <lfw|variants|openset|attendance|reports|capacity> [options]`: each prints
a table.

``lfw`` and ``variants`` are plain facerec; ``attendance`` and ``reports`` need Django and set it
up themselves (``DJANGO_SETTINGS_MODULE``, default ``config.settings.local`` as manage.py does).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

BENCHMARKS = {
    "lfw": "face verification on LFW View 2, detector recall and speed (facerec only)",
    "detection": "group-photo recall, tight portraits, tiny faces, timings, 36 MP memory",
    "variants": "LFW View 2 for other crops, ensembles and centring (facerec only, ~45 min cold)",
    "fusion": "LFW View 2 with dlib's descriptor, the plain sum and per-fold heads over both; "
    "30-face photo timing (facerec only)",
    "openset": "open-set decisions: 50 enrolled + 50 strangers in 7 synthesised conditions",
    "champion": "a head trained on a school of LFW people the shipped one never saw vs the "
    "shipped head, clean and degraded (facerec only)",
    "attendance": "class photos composed from LFW through the real capture pipeline (Django)",
    "reports": "course matrix page and API report under 20 concurrent clients (Django)",
    "capacity": "30-face class photos through the real queue to 1 then 2 workers: photos/min, "
    "latency, peak worker memory (Django, PostgreSQL, Redis)",
}
# The Django benchmarks are management-style commands; this module is where each one lives.
DJANGO_COMMANDS = {
    "attendance": "benchmarks.attendance",
    "reports": "benchmarks.reports",
    "capacity": "benchmarks.capacity",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in BENCHMARKS:
        print(_usage(), file=sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    name, rest = argv[0], argv[1:]
    if name in DJANGO_COMMANDS:
        return run_django_command(name, rest)
    if name == "fusion":
        return run_fusion(rest)
    if name == "openset":
        from benchmarks.openset import main as openset

        return openset(rest)
    if name == "champion":
        from benchmarks.champion import main as champion

        return champion(rest)
    if name == "detection":
        from benchmarks.detection import main as run_detection

        return run_detection(rest)
    return run_lfw(rest, variants=name == "variants")


def _usage() -> str:
    lines = ["usage: python -m benchmarks <name> [options]   (<name> --help for its options)", ""]
    lines += [f"  {name:<11} {what}" for name, what in BENCHMARKS.items()]
    return "\n".join(lines)


def run_lfw(argv: list[str], *, variants: bool) -> int:
    name = "variants" if variants else "lfw"
    parser = argparse.ArgumentParser(
        prog=f"python -m benchmarks {name}", description=BENCHMARKS[name]
    )
    parser.add_argument("--datasets", type=Path, default=None, help="default: $ROLLCALL_DATASETS")
    if not variants:
        parser.add_argument("--quick", action="store_true", help="a small subset, for a smoke test")
    args = parser.parse_args(argv)

    from benchmarks.lfw import format_table, run
    from facerec.datasets import datasets_dir

    datasets = datasets_dir(args.datasets)
    if not datasets.is_dir():
        print(f"No datasets folder at {datasets}; pass --datasets or set ROLLCALL_DATASETS.")
        return 2
    if variants:
        from benchmarks.variants import run_variants

        if not (datasets / "lfw").is_dir() or not (datasets / "lfw_pairs.txt").is_file():
            print(f"variants needs lfw/ and lfw_pairs.txt under {datasets}.")
            return 2
        print(format_table(run_variants(datasets)))
        return 0
    print(format_table(run(datasets, quick=args.quick)))
    return 0


def run_fusion(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks fusion", description=BENCHMARKS["fusion"]
    )
    parser.add_argument("--datasets", type=Path, default=None, help="default: $ROLLCALL_DATASETS")
    args = parser.parse_args(argv)

    from benchmarks.fusion import run_fusion as run
    from benchmarks.lfw import format_table
    from facerec.datasets import datasets_dir

    datasets = datasets_dir(args.datasets)
    if not (datasets / "lfw").is_dir() or not (datasets / "lfw_pairs.txt").is_file():
        print(f"fusion needs lfw/ and lfw_pairs.txt under {datasets}.")
        return 2
    print(format_table(run(datasets)))
    return 0


def run_django_command(name: str, argv: list[str]) -> int:
    """Set Django up, then run the benchmark's command with these arguments."""
    import importlib

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    django.setup()
    command = importlib.import_module(DJANGO_COMMANDS[name]).Command()
    # Exits with status 1 and the message on a CommandError, as manage.py would.
    command.run_from_argv(["python -m benchmarks", name, *argv])
    return 0
