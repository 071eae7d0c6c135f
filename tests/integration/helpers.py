"""Small helpers shared by integration tests."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


def venv_script(name: str) -> str:
    """A console script installed beside this interpreter (the project's virtualenv)."""
    beside = Path(sys.executable).parent / name
    exe = str(beside) if beside.exists() else shutil.which(name)
    assert exe, f"{name} is not installed in this environment (make install)"
    return exe


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Until ``url`` answers 200; fails at once if ``process`` (its server) exited."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{process.args} exited with {process.returncode}"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout_s}s")


def simulate(
    subbuzz_exe: str, env: dict[str, str], path: Path, *, count: int, seed: int, articles: int
) -> list[dict[str, Any]]:
    """Publish simulated events with `subbuzz simulate` and return them as written to ``path``."""
    result = subprocess.run(
        [
            *(subbuzz_exe, "simulate", "-n", str(count), "--seed", str(seed)),
            *("--articles", str(articles), "--output", str(path)),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in path.read_text().splitlines()]


@dataclass
class Pipeline:
    """A `subbuzz consume` and a `subbuzz serve` process on the test's keyspace and topic."""

    base: str
    consumer: subprocess.Popen[bytes]
    server: subprocess.Popen[bytes]
    consumer_log: Path

    @property
    def graphql(self) -> str:
        return f"{self.base}/graphql"


@contextmanager
def consumer_and_server(subbuzz_exe: str, env: dict[str, str], log_dir: Path) -> Iterator[Pipeline]:
    """Start both on free ports (logs in ``log_dir``), wait for the server, and stop both with
    SIGTERM afterwards (SIGKILL after 60 s)."""
    port = free_port()
    consumer_log, server_log = log_dir / "consumer.log", log_dir / "server.log"
    with consumer_log.open("wb") as consumer_out, server_log.open("wb") as server_out:
        consumer = subprocess.Popen(
            [subbuzz_exe, "consume", "--metrics-port", str(free_port())],
            env=env,
            stdout=consumer_out,
            stderr=subprocess.STDOUT,
        )
        server = subprocess.Popen(
            [subbuzz_exe, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=server_out,
            stderr=subprocess.STDOUT,
        )
    pipeline = Pipeline(f"http://127.0.0.1:{port}", consumer, server, consumer_log)
    try:
        wait_http(f"{pipeline.base}/healthz", server, 60)
        yield pipeline
    finally:
        for process in (consumer, server):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (consumer, server):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def own_keyspace(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A copy of ``env`` bound to a fresh, migrated keyspace that is dropped afterwards, for a
    test whose assertions need to see only its own data (a ranking of everything counted)."""
    from cql import migrations
    from cql.store import Store
    from subbuzz.config import CassandraSettings, env_name

    keyspace = f"own_{uuid.uuid4().hex[:10]}"
    settings = CassandraSettings.from_env(env, keyspace=keyspace)
    admin = Store.connect(settings, keyspace=False)
    try:
        migrations.apply(admin)
        yield {**env, env_name("keyspace"): keyspace}
    finally:
        drop_keyspace(admin, keyspace)
        admin.close()


def drop_keyspace(store: Any, keyspace: str, *, within_s: float = 30.0) -> None:
    """Drops a test keyspace, retrying while the store reconnects: a test that restarts
    Cassandra can leave the session's connection defunct for a few seconds."""
    from cql.store import StoreError

    deadline = time.monotonic() + within_s
    while True:
        try:
            store.execute_sync(f"DROP KEYSPACE IF EXISTS {keyspace}")
            return
        except StoreError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)
