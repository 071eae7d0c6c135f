"""/readyz follows Cassandra down and back while the server stays up.

This test stops Cassandra, so it needs a stack it controls (the ``local_stack`` fixture): run
it without SUBBUZZ_* port settings and the session starts its own stack.
"""

from __future__ import annotations

import time

from starlette.testclient import TestClient

from devstack.stack import LocalStack
from subbuzz.config import CassandraSettings
from tests.integration.graphql_support import running_app


def _wait_for_status(client: TestClient, path: str, status: int, timeout_s: float) -> float:
    started = time.monotonic()
    deadline = started + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = client.get(path)
        if last.status_code == status:
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(
        f"{path} did not answer {status} within {timeout_s} s (last: "
        f"{last.status_code if last else None} {last.text if last else ''})"
    )


def test_readyz_goes_false_and_true_again_with_cassandra(
    local_stack: LocalStack, cassandra_settings: CassandraSettings
) -> None:
    with running_app(cassandra_settings, readiness_timeout_s=2.0) as client:
        assert client.get("/readyz").json() == {"ready": True}
        local_stack.stop_service("cassandra")
        try:
            _wait_for_status(client, "/readyz", 503, timeout_s=30)
            down = client.get("/readyz")
            assert down.json()["ready"] is False
            assert client.get("/healthz").status_code == 200
            # A query while Cassandra is down: a masked error with a request id, never a 500.
            response = client.post(
                "/graphql",
                json={"query": '{ article(id: "while-down") { id } }'},
                headers={"x-request-id": "down-1"},
            )
            assert response.status_code in (200, 504)
            (error,) = response.json()["errors"]
            assert error["extensions"]["requestId"] == "down-1"
            assert "Cassandra" not in error["message"] and "NoHostAvailable" not in error["message"]
        finally:
            local_stack.start_service("cassandra")
        _wait_for_status(client, "/readyz", 200, timeout_s=60)
        assert client.get("/readyz").json() == {"ready": True}
        response = client.post("/graphql", json={"query": '{ article(id: "after") { id } }'})
        assert response.json() == {"data": {"article": None}}
