"""Placeholder until the consumer subcommands land (registered so --help lists them)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    del subparsers
