"""A short description of the machine a benchmark ran on."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _package(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def describe(*services: str) -> list[str]:
    """Markdown bullet lines: cores, CPU, memory, Python and client versions, service versions."""
    lines = [
        f"- nproc: {os.cpu_count()} ({_cpu_model()}), memory {_memory_gib():.1f} GiB, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, pynsq {_package('pynsq')}, tornado "
        f"{_package('tornado')}, cassandra-driver {_package('cassandra-driver')}, msgspec "
        f"{_package('msgspec')}",
    ]
    if services:
        lines.append("- " + ", ".join(services))
    lines.append(f"- commit {_git_commit()}")
    return lines
