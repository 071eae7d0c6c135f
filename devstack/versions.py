"""Pinned versions of the local stack's services and where their installs live in the cache."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

CASSANDRA_VERSION = "5.0.8"
NSQ_VERSION = "v1.3.0"
NSQ_TOOLS = ("nsqd", "nsqlookupd", "nsqadmin", "nsq_tail", "to_nsq")
SUPPORTED_JAVA_MAJORS = (11, 17)


def cassandra_home(cache_dir: Path) -> Path:
    return cache_dir / f"cassandra-{CASSANDRA_VERSION}"


def nsq_bin(cache_dir: Path) -> Path:
    return cache_dir / f"nsq-{NSQ_VERSION}" / "bin"


class JavaNotFound(RuntimeError):
    pass


def _java_major(java: Path) -> int | None:
    try:
        result = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_java() -> Path:
    """A JDK that Cassandra 5.0 runs on (11 or 17): SUBBUZZ_JAVA_HOME, JAVA_HOME, then
    /usr/lib/jvm. Newer JDKs (21+) do not work with 5.0, so they are passed over."""
    candidates: list[Path] = []
    for variable in ("SUBBUZZ_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(variable):
            candidates.append(Path(os.environ[variable]))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates += sorted(p for p in jvm.iterdir() if "17" in p.name or "11" in p.name)
    seen: list[str] = []
    for home in candidates:
        java = home / "bin" / "java"
        major = _java_major(java) if java.exists() else None
        seen.append(f"{home} ({major or 'no java'})")
        if major in SUPPORTED_JAVA_MAJORS:
            return home
    raise JavaNotFound(
        "Cassandra 5.0 needs OpenJDK 11 or 17; set SUBBUZZ_JAVA_HOME. Looked at: "
        + (", ".join(seen) or "nothing")
    )
