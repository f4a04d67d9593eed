"""Argument types shared by the benchmark scripts' command lines."""

from __future__ import annotations

import argparse


def positive_int(text):
    """An ``argparse`` type: an int >= 1 (argparse names the option when it is not)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int >= 1; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1; got {value}")
    return value
