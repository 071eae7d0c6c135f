"""cqlsh (from the dev install) reads the counter tables: a known row, and every query the README's
"Looking at the data with cqlsh" section shows, run as written against the test keyspace."""

from __future__ import annotations

import asyncio
import re
import shlex
import subprocess
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from cql.store import (
    ARTICLE_DAILY,
    ARTICLE_HOURLY,
    ARTICLE_TOTALS,
    SESSION_TOTALS,
    SUBBUZZ_BY_POSITION,
    TOP_BY_DAY,
    USER_TOTALS,
    Store,
    Totals,
)
from subbuzz.config import CassandraSettings

from .helpers import venv_script

README = Path(__file__).resolve().parents[2] / "README.md"
Table = list[dict[str, str]]


async def _cqlsh(argv: list[str]) -> str:
    result = await asyncio.to_thread(
        subprocess.run, argv, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{shlex.join(argv)} failed:\n{result.stdout}{result.stderr}"
    # cqlsh reports a failed statement on stderr but may still exit 0.
    errors = [line for line in result.stderr.splitlines() if "Error" in line]
    assert not errors, f"{shlex.join(argv)}:\n{result.stderr}"
    return result.stdout


def _tables(output: str) -> list[Table]:
    """The result tables cqlsh prints, in order: header, a ---+--- rule, rows, blank line."""
    lines = output.splitlines()
    tables: list[Table] = []
    for i in range(1, len(lines)):
        if not re.fullmatch(r"-+(\+-+)*", lines[i].strip()):
            continue
        header = [cell.strip() for cell in lines[i - 1].split("|")]
        rows: Table = []
        for line in lines[i + 1 :]:
            if not line.strip():
                break
            rows.append(dict(zip(header, (cell.strip() for cell in line.split("|")), strict=True)))
        tables.append(rows)
    return tables


def _connection(settings: CassandraSettings) -> list[str]:
    return [settings.cassandra_hosts[0], str(settings.cassandra_port)]


async def test_cqlsh_shows_a_known_counter_row(
    store: Store, cassandra_settings: CassandraSettings
) -> None:
    article = f"known-article-{uuid.uuid4().hex[:8]}"
    await store.increment(ARTICLE_TOTALS, (article,), views=3, time_ms=1234)
    await store.increment(ARTICLE_TOTALS, (article,), views=2, time_ms=766)

    query = f"SELECT article_id, views, time_ms FROM article_totals WHERE article_id = '{article}'"
    argv = [venv_script("cqlsh"), *_connection(cassandra_settings)]
    output = await _cqlsh([*argv, "-k", cassandra_settings.keyspace, "-e", query])

    assert _tables(output) == [[{"article_id": article, "views": "5", "time_ms": "2000"}]]
    assert "(1 rows)" in output


def _readme_cqlsh_block() -> tuple[list[str], list[str]]:
    """(the cqlsh command line, the SELECT statements) of the README's cqlsh section."""
    text = README.read_text()
    section = text.split("## Looking at the data with cqlsh", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    assert lines[0].split()[0].endswith("cqlsh"), f"the block should start with cqlsh: {lines[0]}"
    selects = [line for line in lines[1:] if line.upper().startswith("SELECT")]
    assert len(selects) == len(lines) - 1, "every line after the command should be a SELECT"
    return shlex.split(lines[0]), selects


async def test_every_readme_query_runs_and_finds_the_row(
    store: Store, cassandra_settings: CassandraSettings
) -> None:
    command, selects = _readme_cqlsh_block()
    # The README's command, pointed at the test stack and keyspace instead of the defaults.
    assert command[1:] == ["127.0.0.1", "9042", "-k", "subbuzz"], command
    argv = [venv_script("cqlsh"), *_connection(cassandra_settings)]
    argv += ["-k", cassandra_settings.keyspace]

    suffix = uuid.uuid4().hex[:8]
    keys = {
        "article_id": f"a-readme-{suffix}",
        "session_id": f"s-readme-{suffix}",
        "user_id": f"u-readme-{suffix}",
        "board": f"readme-{suffix}",
        # A day no other test writes to; the keys above keep the rows ours anyway.
        "day": "2001-02-03",
        "month": "2001-02-01",
    }
    shards = {int(value) for value in re.findall(r"shard = (\d+)", " ".join(selects))}
    day, month = date(2001, 2, 3), date(2001, 2, 1)
    article = keys["article_id"]
    rows = [
        (ARTICLE_TOTALS, (article,)),
        (ARTICLE_HOURLY, (article, day, datetime(2001, 2, 3, 4, tzinfo=UTC))),
        (ARTICLE_DAILY, (article, month, day)),
        (SUBBUZZ_BY_POSITION, (article, 2, "sb-readme")),
        (SESSION_TOTALS, (keys["session_id"],)),
        (USER_TOTALS, (keys["user_id"],)),
        *((TOP_BY_DAY, (day, shard, article)) for shard in shards),
    ]
    for table, key in rows:
        await store.increment(table, key, views=3, time_ms=1234)
    await store.save_ranking_snapshot(
        keys["board"], refreshed_at=datetime.now(UTC), entries={article: Totals(3, 1234)}
    )

    def ours(select: str) -> str:
        # The README's example values ('a-0001', '2026-12-03', '…') become this test's keys.
        def replace(match: re.Match[str]) -> str:
            column = match.group(1)
            assert column in keys, f"no test value for {column} in: {select}"
            return f"{column} = '{keys[column]}'"

        return re.sub(r"(\w+) = '[^']*'", replace, select)

    queries = [ours(select) for select in selects]
    output = await _cqlsh([*argv, "-e", " ".join(queries)])
    tables = _tables(output)

    assert len(tables) == len(queries), output
    for query, table in zip(queries, tables, strict=True):
        assert table, f"no rows for: {query}"
        if " WHERE " not in query:
            assert {"article_id", "views", "time_ms"} <= set(table[0]), query
            continue
        key_column = next(c for c in ("article_id", "session_id", "user_id") if c in table[0])
        found = [row for row in table if row[key_column] == keys[key_column]]
        assert [(row["views"], row["time_ms"]) for row in found] == [("3", "1234")], query
