"""How nsqlookupd, nsqd and nsqadmin are launched for the local stack."""

from __future__ import annotations

from pathlib import Path

from subbuzz.config import StackSettings

from .process import ProcessSpec
from .versions import nsq_bin


def state_dir(settings: StackSettings) -> Path:
    return settings.state_dir / "nsq"


def _spec(settings: StackSettings, name: str, args: list[str]) -> ProcessSpec:
    base = state_dir(settings)
    return ProcessSpec(
        name=name,
        command=[str(nsq_bin(settings.cache_dir) / name), *args],
        log_path=base / f"{name}.log",
        pid_path=base / f"{name}.pid",
        cwd=base,
    )


def lookupd_spec(settings: StackSettings) -> ProcessSpec:
    host = settings.host
    return _spec(
        settings,
        "nsqlookupd",
        [
            f"--tcp-address={host}:{settings.nsqlookupd_tcp_port}",
            f"--http-address={host}:{settings.nsqlookupd_http_port}",
            f"--broadcast-address={host}",
        ],
    )


def nsqd_spec(settings: StackSettings) -> ProcessSpec:
    host = settings.host
    data = state_dir(settings) / "nsqd-data"
    data.mkdir(parents=True, exist_ok=True)
    return _spec(
        settings,
        "nsqd",
        [
            f"--data-path={data}",
            f"--tcp-address={host}:{settings.nsqd_tcp_port}",
            f"--http-address={host}:{settings.nsqd_http_port}",
            f"--broadcast-address={host}",
            f"--lookupd-tcp-address={host}:{settings.nsqlookupd_tcp_port}",
        ],
    )


def nsqadmin_spec(settings: StackSettings) -> ProcessSpec:
    host = settings.host
    return _spec(
        settings,
        "nsqadmin",
        [
            f"--http-address={host}:{settings.nsqadmin_http_port}",
            f"--lookupd-http-address={host}:{settings.nsqlookupd_http_port}",
        ],
    )
