"""Publish message bodies to nsqd over HTTP ``/mpub``: one request per batch, one kept-alive
connection. Needs nothing beyond the standard library."""

from __future__ import annotations

import http.client
import urllib.parse
from collections.abc import Sequence

_DROPPED = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class PublishError(RuntimeError):
    """nsqd refused a batch or could not be reached; the batch's fate is unknown."""


class NsqdHttpPublisher:
    def __init__(self, http_address: str, topic: str, *, timeout_s: float = 10.0) -> None:
        host, _, port = http_address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"nsqd HTTP address must be host:port, got {http_address!r}")
        self.http_address = http_address
        self.topic = topic
        self._host = host
        self._port = int(port)
        self._timeout_s = timeout_s
        self._path = "/mpub?" + urllib.parse.urlencode({"topic": topic})
        self._connection: http.client.HTTPConnection | None = None

    def publish(self, bodies: Sequence[bytes]) -> None:
        """Publish bodies (none may contain a newline) as one atomic ``/mpub``."""
        if not bodies:
            return
        payload = b"\n".join(bodies)
        reused = self._connection is not None
        try:
            self._post(payload)
            return
        except _DROPPED as exc:
            self.close()
            if not reused:
                raise PublishError(f"nsqd at {self.http_address}: {exc!r}") from exc
        # nsqd closed an idle kept-alive connection before reading the request: resend once
        # on a new one (a duplicate, if ever, is a repeated event_id that consumers drop).
        try:
            self._post(payload)
        except _DROPPED as exc:
            self.close()
            raise PublishError(f"nsqd at {self.http_address}: {exc!r}") from exc

    def _post(self, payload: bytes) -> None:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(
                self._host, self._port, timeout=self._timeout_s
            )
        try:
            self._connection.request(
                "POST", self._path, body=payload, headers={"Content-Type": "text/plain"}
            )
            response = self._connection.getresponse()
            answer = response.read()
        except _DROPPED:
            raise  # publish() decides whether resending is safe
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise PublishError(f"nsqd at {self.http_address}: {exc}") from exc
        if response.status != 200:
            self.close()
            raise PublishError(
                f"nsqd at {self.http_address} answered {response.status}: {answer[:200]!r}"
            )

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> NsqdHttpPublisher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
