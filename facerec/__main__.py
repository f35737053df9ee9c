"""Entry point for `python -m facerec ...`; see facerec/cli.py."""

from facerec.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
