import os
import subprocess
import uuid

from cql import migrations
from cql.store import COUNTER_TABLES, Store
from devstack.versions import CASSANDRA_VERSION, NSQ_VERSION
from subbuzz.config import CassandraSettings, env_name

from .helpers import venv_script


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SUBBUZZ_")}
    full_env.update(env)
    return subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=120)


def test_stack_status_reports_every_service_ready(
    service_env: dict[str, str], subbuzz_exe: str
) -> None:
    result = _run([subbuzz_exe, "stack", "status"], service_env)
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    if "SUBBUZZ_STATE_DIR" not in service_env:
        # A stack named by ports only may have been started by someone else: status shows it
        # as not ours, which is all we can check here.
        assert set(lines) == {"cassandra", "nsqlookupd", "nsqd", "nsqadmin"}
        return
    assert result.returncode == 0, result.stdout + result.stderr
    assert CASSANDRA_VERSION in lines["cassandra"]
    for name in ("nsqlookupd", "nsqd", "nsqadmin"):
        assert NSQ_VERSION in lines[name]
        assert lines[name].rstrip().endswith("ready")


def test_migrate_applies_once_then_is_a_no_op(
    service_env: dict[str, str], subbuzz_exe: str
) -> None:
    keyspace = f"mig_{uuid.uuid4().hex[:10]}"
    env = {**service_env, env_name("keyspace"): keyspace}
    first = _run([subbuzz_exe, "migrate"], env)
    assert first.returncode == 0, first.stderr
    total = len(migrations.discover())
    assert f"applied {total} migration(s) to keyspace {keyspace}" in first.stdout
    second = _run([subbuzz_exe, "migrate"], env)
    assert second.returncode == 0, second.stderr
    assert f"keyspace {keyspace} is up to date ({total} migrations)" in second.stdout

    store = Store.connect(CassandraSettings.from_env(env))
    try:
        tables = {
            row.table_name
            for row in store.execute_sync(
                "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s",
                (keyspace,),
            )
        }
        assert {table.name for table in COUNTER_TABLES} | {"schema_migrations"} <= tables
        assert migrations.applied_versions(store) == set(range(1, total + 1))
    finally:
        store.execute_sync(f"DROP KEYSPACE IF EXISTS {keyspace}")
        store.close()


def test_migrate_says_what_to_do_when_cassandra_is_unreachable(subbuzz_exe: str) -> None:
    # Port 1 on loopback: nothing listens there.
    result = _run([subbuzz_exe, "migrate"], {env_name("cassandra_port"): "1"})
    assert result.returncode == 1
    assert "cannot reach Cassandra at 127.0.0.1:1" in result.stderr
    assert "subbuzz stack up" in result.stderr


def test_cqlsh_runs_the_migration_files_as_they_are(service_env: dict[str, str]) -> None:
    cqlsh = venv_script("cqlsh")
    settings = CassandraSettings.from_env(service_env)
    host, port = settings.cassandra_hosts[0], str(settings.cassandra_port)
    for migration in migrations.discover():
        result = subprocess.run(
            [cqlsh, host, port, "-f", str(migration.path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "Error" not in result.stderr, result.stderr
    result = subprocess.run(
        [cqlsh, host, port, "-k", "subbuzz", "-e", "DESCRIBE TABLES"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    for table in COUNTER_TABLES:
        assert table.name in result.stdout
