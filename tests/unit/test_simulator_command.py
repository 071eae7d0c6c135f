from __future__ import annotations

from pathlib import Path

import pytest

from simulator.jsonlines import read_events
from subbuzz.cli import main


def test_a_file_only_run_writes_the_events_and_summarises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "events.jsonl"
    code = main(
        [
            "simulate",
            "-n",
            "1200",
            "--seed",
            "3",
            "--articles",
            "20",
            "--no-publish",
            "--output",
            str(output),
        ]
    )
    assert code == 0
    events = list(read_events(output))
    assert len(events) == 1_200
    assert len({event.article_id for event in events}) <= 20
    summary = capsys.readouterr().err
    assert "1,200 events" in summary and "seed 3" in summary


def test_the_same_seed_writes_the_same_traffic(tmp_path: Path) -> None:
    first, second = tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    for path in (first, second):
        assert (
            main(["simulate", "-n", "300", "--seed", "8", "--no-publish", "--output", str(path)])
            == 0
        )
    without_ts = [
        [event.event_id, event.article_id, event.position, event.time_ms, event.user_id]
        for event in read_events(first)
    ]
    assert without_ts == [
        [event.event_id, event.article_id, event.position, event.time_ms, event.user_id]
        for event in read_events(second)
    ]


def test_no_publish_needs_an_output_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "-n", "10", "--no-publish"]) == 2
    assert "--output" in capsys.readouterr().err


def test_count_and_duration_exclude_each_other() -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "-n", "10", "--duration", "5"])
