"""``subbuzz stack install|up|down|status``: the local Cassandra + NSQ stack."""

from __future__ import annotations

import argparse
import sys
import time

from subbuzz.config import StackSettings

from .install import InstallError
from .stack import LocalStack, StackError
from .versions import CASSANDRA_VERSION, NSQ_VERSION, JavaNotFound


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stack",
        help="install, start, stop or inspect the local Cassandra + NSQ stack",
        description=(
            f"The local stack: Apache Cassandra {CASSANDRA_VERSION} (from Maven Central, on "
            f"OpenJDK 17) and NSQ {NSQ_VERSION} (nsqlookupd, nsqd, nsqadmin; built from the Go "
            "module proxy), installed into SUBBUZZ_CACHE_DIR (default ~/.cache/subbuzz) and run "
            "on loopback with data and logs in SUBBUZZ_STATE_DIR (default "
            "~/.local/state/subbuzz). Ports: SUBBUZZ_CASSANDRA_PORT (9042), "
            "SUBBUZZ_CASSANDRA_STORAGE_PORT (7000), SUBBUZZ_CASSANDRA_JMX_PORT (7199), "
            "SUBBUZZ_NSQD_TCP_PORT (4150), SUBBUZZ_NSQD_HTTP_PORT (4151), "
            "SUBBUZZ_NSQLOOKUPD_TCP_PORT (4160), SUBBUZZ_NSQLOOKUPD_HTTP_PORT (4161), "
            "SUBBUZZ_NSQADMIN_HTTP_PORT (4171). Cassandra's heap: SUBBUZZ_CASSANDRA_HEAP_MB (1024)."
        ),
    )
    actions = parser.add_subparsers(dest="stack_action", metavar="ACTION", required=True)
    actions.add_parser(
        "install", help="download and build the pinned services into the cache (idempotent)"
    ).set_defaults(handler=_install)
    actions.add_parser(
        "up", help="install if needed, start every service, wait until each is ready"
    ).set_defaults(handler=_up)
    actions.add_parser(
        "down", help="stop the processes this stack started (SIGTERM, then SIGKILL)"
    ).set_defaults(handler=_down)
    actions.add_parser(
        "status", help="each service's version, pid, address and health"
    ).set_defaults(handler=_status)


def _stack() -> LocalStack:
    return LocalStack(StackSettings.from_env())


def _say(line: str) -> None:
    print(line, flush=True)


def _install(args: argparse.Namespace) -> int:
    del args
    stack = _stack()
    started = time.monotonic()
    try:
        stack.install(progress=_say)
    except (InstallError, JavaNotFound) as exc:
        print(f"subbuzz stack install: {exc}", file=sys.stderr)
        return 1
    _say(
        f"install complete in {time.monotonic() - started:.1f}s (cache: {stack.settings.cache_dir})"
    )
    return 0


def _up(args: argparse.Namespace) -> int:
    del args
    stack = _stack()
    started = time.monotonic()
    try:
        stack.install(progress=_say)
        stack.up(progress=_say)
    except (InstallError, JavaNotFound, StackError) as exc:
        print(f"subbuzz stack up: {exc}", file=sys.stderr)
        return 1
    _say(f"stack ready in {time.monotonic() - started:.1f}s (state: {stack.settings.state_dir})")
    _print_status(stack)
    return 0


def _down(args: argparse.Namespace) -> int:
    del args
    _stack().down(progress=_say)
    return 0


def _status(args: argparse.Namespace) -> int:
    del args
    stack = _stack()
    return 0 if _print_status(stack) else 3


def _print_status(stack: LocalStack) -> bool:
    rows = [("SERVICE", "VERSION", "PID", "ADDRESS", "HEALTH")]
    statuses = stack.status()
    for status in statuses:
        rows.append(
            (status.name, status.version, str(status.pid or "-"), status.address, status.health)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        _say("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return all(status.health == "ready" for status in statuses)
