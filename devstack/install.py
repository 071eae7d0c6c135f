"""Idempotent installs into the cache: Cassandra from Maven Central, NSQ from the Go proxy.

Each install builds in a ``*.partial`` directory and renames it into place when complete, so
an interrupted install leaves nothing that looks finished and a re-run starts it cleanly.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from string import Template

from .versions import CASSANDRA_VERSION, NSQ_TOOLS, NSQ_VERSION, cassandra_home, nsq_bin

Progress = Callable[[str], None]


class InstallError(RuntimeError):
    pass


def template(name: str) -> str:
    return resources.files("devstack").joinpath("templates", name).read_text(encoding="utf-8")


def _run(
    command: list[str], *, cwd: Path, log_path: Path, env: dict[str, str] | None = None, what: str
) -> None:
    with log_path.open("w", encoding="utf-8") as log_file:
        result = subprocess.run(
            command, cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT, env=env, check=False
        )
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
        raise InstallError(
            f"{what} failed (exit {result.returncode}); full log: {log_path}\n{tail}"
        )


def _fresh_partial(final: Path) -> Path:
    partial = final.with_name(final.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    return partial


def cassandra_installed(cache_dir: Path) -> bool:
    return any((cassandra_home(cache_dir) / "lib").glob(f"cassandra-all-{CASSANDRA_VERSION}.jar"))


def install_cassandra(cache_dir: Path, progress: Progress) -> Path:
    home = cassandra_home(cache_dir)
    if cassandra_installed(cache_dir):
        progress(f"cassandra {CASSANDRA_VERSION}: installed at {home}")
        return home
    mvn = shutil.which("mvn")
    if mvn is None:
        raise InstallError("Maven (mvn) is needed to assemble Cassandra from Maven Central")
    partial = _fresh_partial(home)
    pom = Template(template("cassandra-pom.xml")).substitute(cassandra_version=CASSANDRA_VERSION)
    (partial / "pom.xml").write_text(pom, encoding="utf-8")
    log_path = cache_dir / f"install-cassandra-{CASSANDRA_VERSION}.log"
    progress(
        f"cassandra {CASSANDRA_VERSION}: resolving cassandra-all and its runtime dependencies "
        f"from Maven Central (log: {log_path})"
    )
    _run(
        [
            mvn,
            "-B",
            "-ntp",
            f"-Dmaven.repo.local={cache_dir / 'm2'}",
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            "-DoutputDirectory=lib",
        ],
        cwd=partial,
        log_path=log_path,
        what="mvn dependency:copy-dependencies",
    )
    jars = list((partial / "lib").glob("*.jar"))
    if not any(jar.name == f"cassandra-all-{CASSANDRA_VERSION}.jar" for jar in jars):
        raise InstallError(f"Maven finished but cassandra-all is missing; see {log_path}")
    if home.exists():
        shutil.rmtree(home)
    partial.rename(home)
    progress(f"cassandra {CASSANDRA_VERSION}: {len(jars)} jars in {home / 'lib'}")
    return home


def nsq_installed(cache_dir: Path) -> bool:
    return all((nsq_bin(cache_dir) / tool).is_file() for tool in NSQ_TOOLS)


def install_nsq(cache_dir: Path, progress: Progress) -> Path:
    bin_dir = nsq_bin(cache_dir)
    if nsq_installed(cache_dir):
        progress(f"nsq {NSQ_VERSION}: installed at {bin_dir}")
        return bin_dir
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if go is None:
        raise InstallError("Go (>= 1.24) is needed to build NSQ from the Go module proxy")
    root = bin_dir.parent
    partial = _fresh_partial(root)
    source = partial / "src"
    source.mkdir()
    # nsq's go.mod has a replace directive, so `go install pkg@version` refuses it: build the
    # tools from a wrapper module of our own that carries the same replace (see go.mod).
    (source / "go.mod").write_text(template("nsq.go.mod"), encoding="utf-8")
    (source / "go.sum").write_text(template("nsq.go.sum"), encoding="utf-8")
    log_path = cache_dir / f"install-nsq-{NSQ_VERSION}.log"
    progress(f"nsq {NSQ_VERSION}: building {', '.join(NSQ_TOOLS)} with Go (log: {log_path})")
    import os

    env = dict(os.environ)
    env.update(
        GOBIN=str(partial / "bin"),
        GOPATH=str(cache_dir / "go"),
        GOCACHE=str(cache_dir / "go-build"),
        GOFLAGS="-mod=mod",
        GOTOOLCHAIN="local",
        CGO_ENABLED="0",
    )
    _run([go, "install", "tool"], cwd=source, log_path=log_path, env=env, what="go install")
    missing = [tool for tool in NSQ_TOOLS if not (partial / "bin" / tool).is_file()]
    if missing:
        raise InstallError(f"go install finished without {missing}; see {log_path}")
    shutil.rmtree(source)
    if root.exists():
        shutil.rmtree(root)
    partial.rename(root)
    progress(f"nsq {NSQ_VERSION}: built into {bin_dir}")
    return bin_dir


def install_all(cache_dir: Path, progress: Progress) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    install_cassandra(cache_dir, progress)
    install_nsq(cache_dir, progress)
