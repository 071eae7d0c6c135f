"""Settings: one object per process, read once from the environment, failing fast.

Every setting has a default that works with the local stack (`subbuzz stack up`) and an
environment variable with the ``SUBBUZZ_`` prefix. Client addresses default to the stack's
ports, so pointing a whole process at another stack means changing the ports only.

This module imports nothing from the project: every package may depend on it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

PREFIX = "SUBBUZZ_"

T = TypeVar("T")


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


def _parse_int(raw: str) -> int:
    return int(raw.strip())


def _parse_float(raw: str) -> float:
    return float(raw.strip())


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def _parse_list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _parse_str(raw: str) -> str:
    return raw.strip()


_PARSERS: dict[Any, Callable[[str], Any]] = {
    int: _parse_int,
    "int": _parse_int,
    float: _parse_float,
    "float": _parse_float,
    bool: _parse_bool,
    "bool": _parse_bool,
    str: _parse_str,
    "str": _parse_str,
    "tuple[str, ...]": _parse_list,
    "Path": lambda raw: Path(raw.strip()).expanduser(),
}


def env_name(name: str) -> str:
    return PREFIX + name.upper()


def _load(
    cls: type[T],
    environ: Mapping[str, str] | None,
    defaults: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> T:
    """Build a settings dataclass: explicit overrides, else ``SUBBUZZ_<FIELD>``, else defaults."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = dict(defaults or {})
    for f in fields(cls):  # type: ignore[arg-type]
        if not f.init:
            continue
        if overrides.get(f.name) is not None:
            values[f.name] = overrides[f.name]
            continue
        raw = environ.get(env_name(f.name))
        if raw is None:
            continue
        parser = _PARSERS.get(f.type, _parse_str)
        try:
            values[f.name] = parser(raw)
        except ValueError as exc:
            raise SettingsError(f"{env_name(f.name)}={raw!r} is invalid: {exc}") from None
    try:
        return cls(**values)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def _check_port(name: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise ValueError(f"{env_name(name)}={port} is not a TCP port (1-65535)")


@dataclass(frozen=True)
class StackSettings:
    """Where the local stack lives and which loopback ports it listens on."""

    host: str = "127.0.0.1"
    cache_dir: Path = field(default_factory=lambda: Path("~/.cache/subbuzz").expanduser())
    state_dir: Path = field(default_factory=lambda: Path("~/.local/state/subbuzz").expanduser())
    cassandra_port: int = 9042
    cassandra_storage_port: int = 7000
    cassandra_jmx_port: int = 7199
    cassandra_heap_mb: int = 1024
    nsqd_tcp_port: int = 4150
    nsqd_http_port: int = 4151
    nsqlookupd_tcp_port: int = 4160
    nsqlookupd_http_port: int = 4161
    nsqadmin_http_port: int = 4171
    start_timeout_s: float = 120.0
    stop_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name.endswith("_port"):
                _check_port(f.name, getattr(self, f.name))
        if not self.host.startswith("127."):
            raise ValueError(f"{env_name('host')} must be a loopback address, got {self.host!r}")
        if self.cassandra_heap_mb < 256:
            raise ValueError(f"{env_name('cassandra_heap_mb')} must be at least 256")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> StackSettings:
        return _load(cls, environ, **overrides)


@dataclass(frozen=True)
class CassandraSettings:
    """How a process reaches Cassandra and which keyspace it uses."""

    cassandra_hosts: tuple[str, ...] = ("127.0.0.1",)
    cassandra_port: int = 9042
    keyspace: str = "subbuzz"
    # "SimpleStrategy:1" or "NetworkTopologyStrategy:dc1=3,dc2=3"
    replication: str = "SimpleStrategy:1"
    consistency: str = "ONE"
    request_timeout_s: float = 10.0
    connect_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        _check_port("cassandra_port", self.cassandra_port)
        if not self.keyspace.isidentifier() or not self.keyspace.islower():
            raise ValueError(
                f"{env_name('keyspace')}={self.keyspace!r}: use lower-case letters, digits and _"
            )
        replication_map(self.replication)  # validates
        if self.consistency.upper() not in {"ONE", "LOCAL_ONE", "QUORUM", "LOCAL_QUORUM", "ALL"}:
            raise ValueError(f"{env_name('consistency')}={self.consistency!r} is not supported")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> CassandraSettings:
        stack = StackSettings.from_env(environ)
        return _load(cls, environ, {"cassandra_hosts": (stack.host,)}, **overrides)


def replication_map(spec: str) -> dict[str, str]:
    """Turn ``SimpleStrategy:1`` / ``NetworkTopologyStrategy:dc1=3`` into a CQL replication map."""
    strategy, _, rest = spec.partition(":")
    strategy = strategy.strip()
    if strategy == "SimpleStrategy":
        if not rest.strip().isdigit() or int(rest) < 1:
            raise ValueError(f"{env_name('replication')}={spec!r}: expected SimpleStrategy:<rf>")
        return {"class": "SimpleStrategy", "replication_factor": str(int(rest))}
    if strategy == "NetworkTopologyStrategy":
        result = {"class": "NetworkTopologyStrategy"}
        for part in _parse_list(rest):
            dc, _, rf = part.partition("=")
            if not dc or not rf.strip().isdigit():
                raise ValueError(f"{env_name('replication')}={spec!r}: expected dc=<rf> pairs")
            result[dc.strip()] = str(int(rf))
        if len(result) == 1:
            raise ValueError(f"{env_name('replication')}={spec!r}: name at least one datacenter")
        return result
    raise ValueError(
        f"{env_name('replication')}={spec!r}: use SimpleStrategy:<rf> or "
        "NetworkTopologyStrategy:<dc>=<rf>,..."
    )


@dataclass(frozen=True)
class NsqSettings:
    """Where events are published and read."""

    nsqd_tcp_addresses: tuple[str, ...] = ("127.0.0.1:4150",)
    nsqd_http_address: str = "127.0.0.1:4151"
    # When set, readers discover nsqd nodes here instead of connecting to nsqd_tcp_addresses.
    lookupd_http_addresses: tuple[str, ...] = ()
    topic: str = "subbuzz_views"
    channel: str = "counters"
    dead_letter_topic: str = "subbuzz_views_dead"

    def __post_init__(self) -> None:
        for name in ("topic", "channel", "dead_letter_topic"):
            value = getattr(self, name)
            if not value or len(value) > 64 or not all(c.isalnum() or c in "._-" for c in value):
                raise ValueError(f"{env_name(name)}={value!r} is not a valid NSQ name")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> NsqSettings:
        stack = StackSettings.from_env(environ)
        defaults = {
            "nsqd_tcp_addresses": (f"{stack.host}:{stack.nsqd_tcp_port}",),
            "nsqd_http_address": f"{stack.host}:{stack.nsqd_http_port}",
        }
        return _load(cls, environ, defaults, **overrides)


# Every settings class a process builds, as "module:Class". Named here and imported only when
# asked (as cli.py does with the commands), so this module still imports nothing from the project.
_SETTINGS_CLASSES = (
    "subbuzz.config:StackSettings",
    "subbuzz.config:CassandraSettings",
    "subbuzz.config:NsqSettings",
    "consumer.settings:ConsumerSettings",
    "server.settings:ServerSettings",
)
# Variables read outside a settings class: the entry point's log level, the stack's JDK.
_OTHER_SETTINGS = ("log_level", "java_home")


def settings_classes() -> tuple[type, ...]:
    """Every settings dataclass some ``subbuzz`` process reads from ``SUBBUZZ_*`` variables."""
    import importlib

    classes = []
    for spec in _SETTINGS_CLASSES:
        module, _, name = spec.partition(":")
        classes.append(getattr(importlib.import_module(module), name))
    return tuple(classes)


def setting_variables() -> frozenset[str]:
    """Every ``SUBBUZZ_*`` variable subbuzz reads (deployment files may pass only these)."""
    names = {f.name for cls in settings_classes() for f in fields(cls) if f.init}
    return frozenset(env_name(name) for name in names | set(_OTHER_SETTINGS))
