"""Real services for integration tests.

If the environment names a stack (any of SUBBUZZ_CASSANDRA_PORT, SUBBUZZ_NSQD_TCP_PORT,
SUBBUZZ_CASSANDRA_HOSTS, SUBBUZZ_NSQD_TCP_ADDRESSES is set), the tests use it and fail when it
does not answer. Otherwise the session starts its own stack on separate ports and a temporary
state directory (so it can run beside `make demo`) and stops it afterwards.

A missing or broken service is always a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cql import migrations
from cql.store import Store, StoreError
from devstack.health import cassandra_ready, http_ok
from devstack.stack import LocalStack
from subbuzz.config import CassandraSettings, NsqSettings, StackSettings, env_name

from .helpers import drop_keyspace, venv_script

_NAMES_A_STACK = ("cassandra_port", "nsqd_tcp_port", "cassandra_hosts", "nsqd_tcp_addresses")

# Ports of the stack the tests start for themselves: the default ports + 10000.
TEST_STACK_PORTS = {
    "cassandra_port": 19042,
    "cassandra_storage_port": 17000,
    "cassandra_jmx_port": 17199,
    "nsqd_tcp_port": 14150,
    "nsqd_http_port": 14151,
    "nsqlookupd_tcp_port": 14160,
    "nsqlookupd_http_port": 14161,
    "nsqadmin_http_port": 14171,
}


def _uses_running_stack() -> bool:
    return any(env_name(name) in os.environ for name in _NAMES_A_STACK)


@dataclass(frozen=True)
class TestServices:
    env: dict[str, str]
    """SUBBUZZ_* variables that point a process (or a subprocess) at the services."""
    stack: LocalStack
    """Controls the services' processes (stop/start Cassandra in failure tests)."""
    owned: bool
    """True when this test session started the stack itself."""


@pytest.fixture(scope="session")
def test_services() -> Iterator[TestServices]:
    if _uses_running_stack():
        env = {key: value for key, value in os.environ.items() if key.startswith("SUBBUZZ_")}
        cassandra = CassandraSettings.from_env(env)
        nsq = NsqSettings.from_env(env)
        problems = []
        host = cassandra.cassandra_hosts[0]
        if not cassandra_ready(host, cassandra.cassandra_port):
            problems.append(f"Cassandra at {host}:{cassandra.cassandra_port}")
        if not http_ok(f"http://{nsq.nsqd_http_address}/ping"):
            problems.append(f"nsqd at {nsq.nsqd_http_address}")
        if problems:
            pytest.fail(
                "SUBBUZZ_* settings name a running stack, but these do not answer: "
                + ", ".join(problems),
                pytrace=False,
            )
        yield TestServices(env, LocalStack(StackSettings.from_env(env)), owned=False)
        return

    state_dir = Path(tempfile.mkdtemp(prefix="subbuzz-test-stack-"))
    overrides = {key: str(value) for key, value in TEST_STACK_PORTS.items()}
    overrides["state_dir"] = str(state_dir)
    env = {env_name(key): value for key, value in overrides.items()}
    if "SUBBUZZ_CACHE_DIR" in os.environ:
        env["SUBBUZZ_CACHE_DIR"] = os.environ["SUBBUZZ_CACHE_DIR"]
    stack = LocalStack(StackSettings.from_env(env))
    try:
        stack.install(progress=print)
        stack.up(progress=print)
    except Exception as exc:
        stack.down()
        pytest.fail(f"could not start the test stack: {exc}", pytrace=False)
    try:
        yield TestServices(env, stack, owned=True)
    finally:
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def service_env(test_services: TestServices) -> dict[str, str]:
    return test_services.env


@pytest.fixture
def local_stack(test_services: TestServices, store: Store) -> Iterator[LocalStack]:
    """The stack whose processes a failure test may stop and start again.

    Only a stack whose pid files we can see qualifies: one this session started, or one
    started by `subbuzz stack up` with the SUBBUZZ_STATE_DIR given to the tests. Afterwards
    Cassandra is running again and the session's shared store has reconnected, so the tests
    that follow do not inherit the outage.
    """
    pids = test_services.stack.running_pids()
    if "cassandra" not in pids:
        pytest.fail(
            "this test stops and restarts Cassandra, so it needs a stack it controls: run it "
            "without SUBBUZZ_* port settings (the tests then start their own stack), or give "
            "the SUBBUZZ_STATE_DIR of a stack started by `subbuzz stack up`",
            pytrace=False,
        )
    yield test_services.stack
    if "cassandra" not in test_services.stack.running_pids():
        test_services.stack.start_service("cassandra")
    deadline = time.monotonic() + 60
    while True:
        try:
            store.execute_sync("SELECT release_version FROM system.local")
            return
        except StoreError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="session")
def cassandra_settings(service_env: dict[str, str]) -> Iterator[CassandraSettings]:
    """A fresh, migrated keyspace for this test session, dropped at the end."""
    keyspace = f"test_{uuid.uuid4().hex[:10]}"
    settings = CassandraSettings.from_env(service_env, keyspace=keyspace)
    store = Store.connect(settings, keyspace=False)
    try:
        migrations.apply(store)
        yield settings
    finally:
        drop_keyspace(store, keyspace)
        store.close()


@pytest.fixture(scope="session")
def store(cassandra_settings: CassandraSettings) -> Iterator[Store]:
    opened = Store.connect(cassandra_settings)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def nsq_settings(service_env: dict[str, str]) -> NsqSettings:
    """Fresh topic and dead-letter names for each test."""
    suffix = uuid.uuid4().hex[:10]
    return NsqSettings.from_env(
        service_env, topic=f"views_{suffix}", dead_letter_topic=f"dead_{suffix}"
    )


@pytest.fixture
def subprocess_env(
    service_env: dict[str, str], cassandra_settings: CassandraSettings, nsq_settings: NsqSettings
) -> dict[str, str]:
    """The environment for a `subbuzz` subprocess bound to this test's keyspace and topics."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SUBBUZZ_")}
    env.update(service_env)
    env[env_name("keyspace")] = cassandra_settings.keyspace
    env[env_name("topic")] = nsq_settings.topic
    env[env_name("dead_letter_topic")] = nsq_settings.dead_letter_topic
    return env


@pytest.fixture
def subbuzz_exe() -> str:
    return venv_script("subbuzz")
