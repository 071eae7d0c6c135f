from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.jsonlines import read_events
from simulator.truth import article_totals
from subbuzz.config import NsqSettings


def _nsqd(nsq: NsqSettings, path: str, **query: str) -> bytes:
    url = f"http://{nsq.nsqd_http_address}{path}?{urllib.parse.urlencode(query)}"
    method = "POST" if path.startswith("/topic/") else "GET"
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as answer:
        return bytes(answer.read())


def _message_count(nsq: NsqSettings) -> int | None:
    stats = json.loads(_nsqd(nsq, "/stats", format="json", topic=nsq.topic))
    for topic in stats.get("topics") or []:
        if topic["topic_name"] == nsq.topic:
            return int(topic["message_count"])
    return None


@pytest.fixture
def fresh_topic(nsq_settings: NsqSettings) -> Iterator[NsqSettings]:
    assert _message_count(nsq_settings) is None, "the topic should not exist yet"
    yield nsq_settings
    if _message_count(nsq_settings) is not None:
        _nsqd(nsq_settings, "/topic/delete", topic=nsq_settings.topic)


def test_publishing_n_events_lands_exactly_n_messages(
    fresh_topic: NsqSettings, subprocess_env: dict[str, str], subbuzz_exe: str, tmp_path: Path
) -> None:
    output = tmp_path / "events.jsonl"
    # 1,234 events in batches of 100: 12 full /mpub requests and a partial one.
    done = subprocess.run(
        [
            subbuzz_exe,
            "simulate",
            "-n",
            "1234",
            "--seed",
            "77",
            "--batch-size",
            "100",
            "--output",
            str(output),
        ],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert _message_count(fresh_topic) == 1_234
    assert "1,234 events" in done.stderr and f"topic {fresh_topic.topic}" in done.stderr

    events = list(read_events(output))
    assert len(events) == 1_234
    assert sum(truth.views for truth in article_totals(events).values()) == 1_234


def test_a_paced_run_keeps_to_its_rate(
    fresh_topic: NsqSettings, subprocess_env: dict[str, str], subbuzz_exe: str
) -> None:
    done = subprocess.run(
        [subbuzz_exe, "simulate", "--duration", "2", "--rate", "500"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    published = _message_count(fresh_topic)
    assert published is not None and 900 <= published <= 1_000


def test_no_publish_writes_the_file_only(
    fresh_topic: NsqSettings, subprocess_env: dict[str, str], subbuzz_exe: str, tmp_path: Path
) -> None:
    output = tmp_path / "events.jsonl"
    done = subprocess.run(
        [subbuzz_exe, "simulate", "-n", "300", "--no-publish", "--output", str(output)],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert len(list(read_events(output))) == 300
    assert _message_count(fresh_topic) is None
