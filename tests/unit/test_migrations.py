from pathlib import Path

import pytest

from cql import migrations
from cql.store import COUNTER_TABLES
from subbuzz.config import CassandraSettings


def test_files_are_ordered_without_gaps() -> None:
    found = migrations.discover()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].name == "keyspace"


def test_every_counter_table_is_created_by_a_migration() -> None:
    text = "\n".join(m.path.read_text() for m in migrations.discover())
    for table in COUNTER_TABLES:
        assert f"CREATE TABLE IF NOT EXISTS {table.name} (" in text


def test_split_ignores_semicolons_in_comments_and_strings() -> None:
    text = """
    -- a comment; with a semicolon
    CREATE TABLE t (a text PRIMARY KEY); // another; one
    INSERT INTO t (a) VALUES ('x;y');
    """
    assert migrations.split_statements(text) == [
        "CREATE TABLE t (a text PRIMARY KEY)",
        "INSERT INTO t (a) VALUES ('x;y')",
    ]


def test_rewrite_targets_the_configured_keyspace() -> None:
    settings = CassandraSettings.from_env(
        {}, keyspace="other", replication="NetworkTopologyStrategy:dc1=3"
    )
    create = migrations.rewrite(
        "CREATE KEYSPACE IF NOT EXISTS subbuzz\n  WITH replication = {'class': 'SimpleStrategy', "
        "'replication_factor': 1}",
        settings,
    )
    assert create == (
        "CREATE KEYSPACE IF NOT EXISTS other WITH replication = "
        "{'class': 'NetworkTopologyStrategy', 'dc1': 3}"
    )
    assert migrations.rewrite("USE subbuzz", settings) is None
    table = "CREATE TABLE IF NOT EXISTS x (a text PRIMARY KEY)"
    assert migrations.rewrite(table, settings) == table


def test_misnamed_or_gapped_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "001_a.cql").write_text("")
    (tmp_path / "003_c.cql").write_text("")
    with pytest.raises(ValueError, match="without gaps"):
        migrations.discover(tmp_path)
    (tmp_path / "2_b.cql").write_text("")
    with pytest.raises(ValueError, match="NNN_lower_snake"):
        migrations.discover(tmp_path)
