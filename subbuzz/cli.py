"""The ``subbuzz`` command: one entry point, a subcommand per role.

Each role's package owns its arguments in a ``command`` module with
``register(subparsers)``, which sets ``handler`` (``args -> exit code``) on its parser.
Logging is configured here, in the entry point, and nowhere else.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from .config import SettingsError

# (module with register(), in the order --help lists them)
_COMMAND_MODULES = (
    "devstack.command",
    "cql.command",
    "consumer.command",
    "server.command",
    "simulator.command",
    "subbuzz.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="subbuzz",
        description=(
            "Real-time engagement analytics for articles made of sub-buzzes: events in through "
            "NSQ, counters in Cassandra, answers through GraphQL. Every setting also reads a "
            "SUBBUZZ_* environment variable; flags win over the environment."
        ),
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("SUBBUZZ_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log verbosity (env SUBBUZZ_LOG_LEVEL, default INFO)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The driver and tornado are chatty at INFO about routine reconnects.
    logging.getLogger("cassandra").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        return int(args.handler(args) or 0)
    except SettingsError as exc:
        print(f"subbuzz: bad setting: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
