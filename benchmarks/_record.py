"""What the benchmark scripts record with their figures: the command, the date
and the commit (BENCHMARKS.md cites them), and the JSON file of the records."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys


def commit():
    """The checkout's short commit, or ``"unknown"`` outside git."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_metadata(argv=None, **extra):
    """``{command, date (UTC), commit, **extra}`` of this run (``argv``: the
    arguments ``main`` was given, else the command line's)."""
    return dict(
        command="python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        commit=commit(),
        **extra,
    )


def write_records(path, meta, records):
    """``meta`` with its ``records``, as indented JSON, written atomically to ``path``."""
    from keras_gan.io import atomic_write_text

    atomic_write_text(path, json.dumps(dict(meta, records=records), indent=1) + "\n")
