"""The local stack: Cassandra, nsqlookupd, nsqd and nsqadmin on loopback, from the cache.

``LocalStack`` owns exactly the processes it starts (pid files in the state directory), so
several stacks with different ports and state directories can run side by side.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from subbuzz.config import StackSettings

from . import cassandra, nsq, process
from .health import cassandra_release_version, http_ok
from .install import Progress, install_all
from .versions import NSQ_VERSION, nsq_bin


class StackError(RuntimeError):
    pass


@dataclass(frozen=True)
class Service:
    name: str
    address: str
    pid_path: Path
    log_paths: tuple[Path, ...]
    spec: Callable[[], process.ProcessSpec]
    ready: Callable[[], bool]
    version: Callable[[], str | None]


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    version: str
    pid: int | None
    address: str
    health: str


class LocalStack:
    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        s = settings
        host = s.host

        def nsq_version(tool: str) -> Callable[[], str | None]:
            def read() -> str | None:
                try:
                    out = subprocess.run(
                        [str(nsq_bin(s.cache_dir) / tool), "--version"],
                        capture_output=True,
                        text=True,
                        timeout=10,
                        check=False,
                    ).stdout
                except OSError:
                    return None
                return out.split()[1] if out.startswith(tool) and len(out.split()) > 1 else None

            return read

        cassandra_dir = cassandra.state_dir(s)
        nsq_dir = nsq.state_dir(s)
        self.services: tuple[Service, ...] = (
            Service(
                name="cassandra",
                address=f"{host}:{s.cassandra_port} (CQL)",
                pid_path=cassandra_dir / "cassandra.pid",
                log_paths=(cassandra.log_path(s), cassandra_dir / "logs" / "stdout.log"),
                spec=lambda: cassandra.process_spec(s),
                ready=lambda: cassandra_release_version(host, s.cassandra_port) is not None,
                version=lambda: cassandra_release_version(host, s.cassandra_port),
            ),
            Service(
                name="nsqlookupd",
                address=f"{host}:{s.nsqlookupd_tcp_port} (TCP), "
                f"http://{host}:{s.nsqlookupd_http_port}",
                pid_path=nsq_dir / "nsqlookupd.pid",
                log_paths=(nsq_dir / "nsqlookupd.log",),
                spec=lambda: nsq.lookupd_spec(s),
                ready=lambda: http_ok(f"http://{host}:{s.nsqlookupd_http_port}/ping"),
                version=nsq_version("nsqlookupd"),
            ),
            Service(
                name="nsqd",
                address=f"{host}:{s.nsqd_tcp_port} (TCP), http://{host}:{s.nsqd_http_port}",
                pid_path=nsq_dir / "nsqd.pid",
                log_paths=(nsq_dir / "nsqd.log",),
                spec=lambda: nsq.nsqd_spec(s),
                ready=lambda: http_ok(f"http://{host}:{s.nsqd_http_port}/ping"),
                version=nsq_version("nsqd"),
            ),
            Service(
                name="nsqadmin",
                address=f"http://{host}:{s.nsqadmin_http_port}",
                pid_path=nsq_dir / "nsqadmin.pid",
                log_paths=(nsq_dir / "nsqadmin.log",),
                spec=lambda: nsq.nsqadmin_spec(s),
                ready=lambda: http_ok(f"http://{host}:{s.nsqadmin_http_port}/ping"),
                version=nsq_version("nsqadmin"),
            ),
        )

    # -- lookups -------------------------------------------------------------------------

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(f"no service {name!r}; known: {[s.name for s in self.services]}")

    # -- lifecycle -----------------------------------------------------------------------

    def install(self, progress: Progress = print) -> None:
        install_all(self.settings.cache_dir, progress)

    def up(self, progress: Progress = print) -> None:
        """Start every service that is not running, then wait until all are ready."""
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        for service in self.services:
            self._start(service, progress)
        self._wait_ready(list(self.services), progress, started)

    def start_service(self, name: str, progress: Progress = print) -> None:
        service = self.service(name)
        started = time.monotonic()
        self._start(service, progress)
        self._wait_ready([service], progress, started)

    def stop_service(self, name: str, progress: Progress = print) -> None:
        service = self.service(name)
        progress(
            f"{service.name}: "
            f"{process.stop(service.pid_path, timeout_s=self._stop_timeout(service))}"
        )

    def down(self, progress: Progress = print) -> None:
        """Stop what this stack started, in reverse order: gracefully, then by force."""
        for service in reversed(self.services):
            progress(
                f"{service.name}: "
                f"{process.stop(service.pid_path, timeout_s=self._stop_timeout(service))}"
            )

    def status(self) -> list[ServiceStatus]:
        statuses = []
        for service in self.services:
            pid = process.read_pid(service.pid_path)
            if pid is None:
                health = "stopped" if not service.ready() else "not ours: something else answers"
                statuses.append(ServiceStatus(service.name, "-", None, service.address, health))
                continue
            ready = service.ready()
            version = (service.version() if ready else None) or "-"
            statuses.append(
                ServiceStatus(
                    service.name,
                    version,
                    pid,
                    service.address,
                    "ready" if ready else "running, not answering",
                )
            )
        return statuses

    def running_pids(self) -> dict[str, int]:
        pids = {}
        for service in self.services:
            pid = process.read_pid(service.pid_path)
            if pid is not None:
                pids[service.name] = pid
        return pids

    # -- internals -----------------------------------------------------------------------

    def _stop_timeout(self, service: Service) -> float:
        return self.settings.stop_timeout_s if service.name == "cassandra" else 10.0

    def _start(self, service: Service, progress: Progress) -> None:
        existing = process.read_pid(service.pid_path)
        if existing is not None:
            progress(f"{service.name}: already running (pid {existing})")
            return
        if service.ready():
            raise StackError(
                f"{service.name}: something that this stack did not start already answers at "
                f"{service.address}. Stop it, or choose other ports (SUBBUZZ_*_PORT)."
            )
        pid = process.start(service.spec())
        progress(f"{service.name}: started (pid {pid}), log {service.log_paths[0]}")

    def _wait_ready(self, services: list[Service], progress: Progress, started: float) -> None:
        deadline = started + self.settings.start_timeout_s
        pending = list(services)
        while pending:
            for service in list(pending):
                pid = process.read_pid(service.pid_path)
                if pid is None:
                    raise StackError(self._failure(service, "exited during start-up"))
                if service.ready():
                    pending.remove(service)
                    progress(
                        f"{service.name}: ready at {service.address} "
                        f"after {time.monotonic() - started:.1f}s"
                    )
            if not pending:
                return
            if time.monotonic() > deadline:
                names = ", ".join(service.name for service in pending)
                raise StackError(
                    self._failure(
                        pending[0], f"not ready after {self.settings.start_timeout_s:.0f}s"
                    )
                    + (f" (also waiting for: {names})" if len(pending) > 1 else "")
                )
            time.sleep(0.5)

    def _failure(self, service: Service, what: str) -> str:
        parts = [f"{service.name} {what}."]
        for log in service.log_paths:
            if log.exists():
                parts.append(f"--- last lines of {log} ---\n{process.log_tail(log)}")
        return "\n".join(parts)


__all__ = ["NSQ_VERSION", "LocalStack", "ServiceStatus", "StackError"]
