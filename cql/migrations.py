"""Ordered schema migrations: the ``NNN_name.cql`` files beside this module.

The files are plain CQL that cqlsh runs as they are (keyspace ``subbuzz``, RF 1). ``apply``
runs the ones not yet recorded in ``schema_migrations``, on the configured keyspace and
replication: ``USE subbuzz`` and the keyspace's ``CREATE KEYSPACE`` are rewritten, nothing else.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from subbuzz.config import CassandraSettings, replication_map

from .store import Store

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent
FILE_KEYSPACE = "subbuzz"
_FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.cql$")
_CREATE_KEYSPACE = re.compile(
    rf"^CREATE\s+KEYSPACE\s+(IF\s+NOT\s+EXISTS\s+)?{FILE_KEYSPACE}\s+WITH\s+replication\s*=\s*\{{.*?\}}",
    re.IGNORECASE | re.DOTALL,
)
_USE = re.compile(rf"^USE\s+{FILE_KEYSPACE}$", re.IGNORECASE)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    def statements(self) -> list[str]:
        return split_statements(self.path.read_text(encoding="utf-8"))


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration file in version order; a gap or a repeated version is an error."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.cql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise ValueError(f"{path.name}: migration files are named NNN_lower_snake.cql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migration versions must be 1..N without gaps, found {versions}")
    return found


def split_statements(text: str) -> list[str]:
    """Split CQL on ``;`` outside quotes, dropping ``--`` and ``//`` line comments."""
    statements: list[str] = []
    current: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            current.append(char)
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
            current.append(char)
        elif text.startswith("--", index) or text.startswith("//", index):
            newline = text.find("\n", index)
            index = len(text) if newline < 0 else newline
            continue
        elif char == ";":
            statement = "".join(current).strip()
            if statement:
                statements.append(statement)
            current = []
        else:
            current.append(char)
        index += 1
    tail = "".join(current).strip()
    if tail:
        statements.append(tail)
    return statements


def _cql_map(mapping: dict[str, str]) -> str:
    parts = []
    for key, value in mapping.items():
        rendered = value if value.isdigit() else f"'{value}'"
        parts.append(f"'{key}': {rendered}")
    return "{" + ", ".join(parts) + "}"


def rewrite(statement: str, settings: CassandraSettings) -> str | None:
    """The statement for the configured keyspace; ``None`` for ``USE`` (the session is set)."""
    if _USE.match(statement):
        return None
    if _CREATE_KEYSPACE.match(statement):
        replication = _cql_map(replication_map(settings.replication))
        return f"CREATE KEYSPACE IF NOT EXISTS {settings.keyspace} WITH replication = {replication}"
    return statement


def applied_versions(store: Store) -> set[int]:
    rows = store.execute_sync(f"SELECT version FROM {store.keyspace}.schema_migrations")
    return {row.version for row in rows}


def apply(
    store: Store,
    *,
    migrations: list[Migration] | None = None,
    progress: Callable[[str], None] = log.info,
) -> list[Migration]:
    """Apply pending migrations in order; returns those applied (empty when up to date).

    Migration 1 creates the keyspace and the record table; it is idempotent and always
    checked first so that a fresh cluster and an up-to-date one take the same path.
    """
    migrations = discover() if migrations is None else migrations
    settings = store.settings
    bootstrap = migrations[0]
    done: set[int] = set()
    try:
        done = applied_versions(store)
    except Exception:  # the keyspace or the record table does not exist yet
        done = set()
    applied: list[Migration] = []
    for migration in migrations:
        if migration.version in done:
            continue
        progress(f"applying {migration.path.name}")
        for statement in migration.statements():
            cql = rewrite(statement, settings)
            if cql is None:
                store.session.set_keyspace(settings.keyspace)
                continue
            store.execute_sync(cql)
        if migration is bootstrap:
            store.session.set_keyspace(settings.keyspace)
        store.execute_sync(
            f"INSERT INTO {settings.keyspace}.schema_migrations (version, name, applied_at) "
            "VALUES (%s, %s, %s)",
            (migration.version, migration.name, datetime.now(UTC)),
        )
        applied.append(migration)
    if not applied:
        progress(f"keyspace {settings.keyspace} is up to date ({len(migrations)} migrations)")
    return applied
