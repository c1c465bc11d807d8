"""Entry point of the `ch` command (placeholder until the front end lands: help and version)."""

from __future__ import annotations

import argparse

from sw_frontend import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ch", description="hardware/software co-design toolkit")
    parser.add_argument("--version", action="version", version=f"ch {__version__}")
    parser.parse_args(argv)
    parser.print_help()
    return 0
