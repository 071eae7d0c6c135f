"""Start and stop the stack's daemons by pid file: never by process name.

A pid file records the pid and the process's start time, so a recycled pid that now belongs
to some other program is never signalled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

# Daemons started by this process, kept so that their exit status is collected (no zombies)
# when the caller is also the one that stops them, as the test fixtures are.
_started: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    command: list[str]
    log_path: Path
    pid_path: Path
    cwd: Path
    env: dict[str, str] | None = None


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (which may contain spaces)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()


def _start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot): unlike the pid, never reused, and
    unlike /proc/PID/cmdline, stable while the program re-executes itself (java does)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def _is_zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is None or fields[0] == "Z"


def read_pid(pid_path: Path) -> int | None:
    """The pid recorded in ``pid_path`` if that process is still the one we started."""
    try:
        record = json.loads(pid_path.read_text())
        pid = int(record["pid"])
        start_time = int(record["start_time"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid <= 0 or _start_time(pid) != start_time or _is_zombie(pid):
        return None
    return pid


def start(spec: ProcessSpec) -> int:
    """Start detached (own session, so Ctrl-C in the caller's terminal does not reach it)."""
    running = read_pid(spec.pid_path)
    if running is not None:
        return running
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    spec.pid_path.parent.mkdir(parents=True, exist_ok=True)
    with spec.log_path.open("ab") as log_file:
        process = subprocess.Popen(
            spec.command,
            cwd=spec.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=spec.env,
            start_new_session=True,
        )
    record = {"pid": process.pid, "start_time": _start_time(process.pid), "exe": spec.command[0]}
    spec.pid_path.write_text(json.dumps(record))
    _started[process.pid] = process
    return process.pid


def _reap(pid: int) -> None:
    """Collect the exit status when the caller is the parent (tests start the stack in-process)."""
    child = _started.get(pid)
    if child is not None and child.poll() is not None:
        del _started[pid]


def _forget(pid: int) -> None:
    child = _started.pop(pid, None)
    if child is not None:
        child.wait(timeout=10)


def alive(pid: int) -> bool:
    _reap(pid)
    return Path(f"/proc/{pid}").exists() and not _is_zombie(pid)


def stop(pid_path: Path, *, timeout_s: float) -> str:
    """SIGTERM, wait up to ``timeout_s``, then SIGKILL. Returns what happened."""
    pid = read_pid(pid_path)
    if pid is None:
        pid_path.unlink(missing_ok=True)
        return "not running"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive(pid):
            _forget(pid)
            pid_path.unlink(missing_ok=True)
            return f"stopped (pid {pid})"
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        if not alive(pid):
            break
        time.sleep(0.1)
    _forget(pid)
    pid_path.unlink(missing_ok=True)
    return f"killed after {timeout_s:.0f}s (pid {pid})"


def log_tail(log_path: Path, lines: int = 15) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return "(no log yet)"
    return "\n".join(text.splitlines()[-lines:])
