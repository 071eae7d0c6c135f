"""A lean HTTP/1.1 keep-alive client for load generation, on asyncio streams.

The query benchmark's clients share two cores with the server and Cassandra. httpx spent
~1.5 ms of CPU per request here, more than the server's own share of a dashboard request:
it inflated every GraphQL latency at one client and took cores from the server at 16. This
client does only what the benchmark needs (POST JSON, Content-Length bodies, one connection
per client), as load tools such as wrk do.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit

import msgspec

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class HttpError(Exception):
    """The server answered with something this client cannot read (or closed the socket)."""


class JsonPoster:
    """One keep-alive connection posting JSON bodies to one URL."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"an http:// URL is needed, got {url!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._head = (
            f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, payload: Any) -> tuple[int, Any]:
        """Sends ``payload`` as JSON; returns the status code and the decoded JSON body."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        body = _encode(payload)
        self._writer.write(self._head + str(len(body)).encode() + b"\r\n\r\n" + body)
        try:
            head = await self._reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            await self.close()
            raise HttpError(f"the connection closed before an answer: {exc}") from exc
        status, length, keep_alive = _parse_head(head)
        content = await self._reader.readexactly(length)
        if not keep_alive:
            await self.close()
        return status, _decode(content) if content else None

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        raise HttpError(f"not an HTTP status line: {lines[0]!r}") from None
    length: int | None = None
    keep_alive = True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            raise HttpError(f"a {value.strip()} body is not supported by this client")
        elif name == "connection" and value.strip().lower() == "close":
            keep_alive = False
    if length is None:
        raise HttpError("the answer has no Content-Length")
    return status, length, keep_alive
