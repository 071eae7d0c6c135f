"""`subbuzz serve --workers 2`: two processes share the port, /metrics adds both up, and
SIGTERM stops them all."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import httpx

from tests.integration.helpers import free_port, wait_http


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return children


def _is_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False


def test_two_workers_serve_and_count_together(
    subprocess_env: dict[str, str], subbuzz_exe: str, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [subbuzz_exe, "serve", "--port", str(port), "--workers", "2"],
            env=subprocess_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_http(f"{base}/readyz", server, 90)
        workers = [pid for pid in _children(server.pid) if _is_worker(pid)]
        assert len(workers) == 2, f"expected 2 worker processes, found {workers}"
        requests = 40
        for _ in range(requests):
            # A new connection each time, so either worker may take it.
            response = httpx.post(
                f"{base}/graphql", json={"query": '{ article(id: "nobody-counted-me") { id } }'}
            )
            assert response.json() == {"data": {"article": None}}
        metrics = httpx.get(f"{base}/metrics").text
        served = re.search(
            r'^subbuzz_graphql_requests_total\{operation="article",outcome="ok"\} (\S+)$',
            metrics,
            re.MULTILINE,
        )
        assert served is not None, metrics
        assert float(served.group(1)) == requests
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            raise AssertionError("the server did not stop within 30 s of SIGTERM") from None
    assert not [pid for pid in workers if _is_worker(pid)], "a worker outlived the server"
