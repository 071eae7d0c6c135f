"""``subbuzz migrate``: apply the pending schema migrations."""

from __future__ import annotations

import argparse
import sys

from subbuzz.config import CassandraSettings

from . import migrations
from .store import Store, StoreError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="create or upgrade the keyspace and tables (idempotent)",
        description=(
            "Apply the cql/NNN_*.cql migrations not yet recorded in <keyspace>.schema_migrations. "
            "Re-running is a no-op."
        ),
    )
    parser.add_argument("--keyspace", help="keyspace (env SUBBUZZ_KEYSPACE, default subbuzz)")
    parser.add_argument(
        "--replication",
        help="SimpleStrategy:<rf> or NetworkTopologyStrategy:<dc>=<rf>,... "
        "(env SUBBUZZ_REPLICATION, default SimpleStrategy:1)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = CassandraSettings.from_env(keyspace=args.keyspace, replication=args.replication)
    try:
        store = Store.connect(settings, keyspace=False)
    except StoreError as exc:
        hosts = ",".join(settings.cassandra_hosts)
        print(
            f"subbuzz migrate: cannot reach Cassandra at {hosts}:{settings.cassandra_port} "
            f"({exc}). Is the stack up? Try: subbuzz stack up",
            file=sys.stderr,
        )
        return 1
    try:
        applied = migrations.apply(store, progress=lambda line: print(line, flush=True))
    finally:
        store.close()
    if applied:
        print(f"applied {len(applied)} migration(s) to keyspace {settings.keyspace}")
    return 0
