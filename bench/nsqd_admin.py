"""What the benchmark asks nsqd over HTTP: channel progress, and deleting its topics."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ChannelProgress:
    clients: int
    finished: int  # FINs from the clients connected now
    depth: int
    in_flight: int


def _call(http_address: str, path: str, method: str = "GET", **query: str) -> bytes:
    url = f"http://{http_address}{path}?{urllib.parse.urlencode(query)}"
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=5) as answer:
        return bytes(answer.read())


def stats(http_address: str, topic: str) -> dict[str, Any]:
    return dict(json.loads(_call(http_address, "/stats", format="json", topic=topic)))


def channel_progress(http_address: str, topic: str, channel: str) -> ChannelProgress | None:
    for entry in stats(http_address, topic).get("topics") or []:
        if entry["topic_name"] != topic:
            continue
        for found in entry.get("channels") or []:
            if found["channel_name"] == channel:
                clients = found.get("clients") or []
                return ChannelProgress(
                    clients=len(clients),
                    finished=sum(int(client["finish_count"]) for client in clients),
                    depth=int(found["depth"]),
                    in_flight=int(found["in_flight_count"]),
                )
    return None


def version(http_address: str) -> str:
    return str(json.loads(_call(http_address, "/info"))["version"])


def delete_topic(http_address: str, topic: str) -> None:
    try:
        _call(http_address, "/topic/delete", method="POST", topic=topic)
    except urllib.error.HTTPError as exc:
        if exc.code != 404:  # never created
            raise
