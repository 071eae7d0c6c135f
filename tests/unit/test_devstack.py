import json
import shutil
from pathlib import Path

from devstack import cassandra, nsq, process
from subbuzz.config import StackSettings


def _sleep_spec(tmp_path: Path) -> process.ProcessSpec:
    sleep = shutil.which("sleep")
    assert sleep
    return process.ProcessSpec(
        name="sleeper",
        command=[sleep, "60"],
        log_path=tmp_path / "sleeper.log",
        pid_path=tmp_path / "sleeper.pid",
        cwd=tmp_path,
    )


def test_start_is_idempotent_and_stop_uses_the_pid_file(tmp_path: Path) -> None:
    spec = _sleep_spec(tmp_path)
    pid = process.start(spec)
    try:
        assert process.read_pid(spec.pid_path) == pid
        assert process.start(spec) == pid  # already running: not started twice
    finally:
        outcome = process.stop(spec.pid_path, timeout_s=5)
    assert outcome == f"stopped (pid {pid})"
    assert not spec.pid_path.exists()
    assert not process.alive(pid)
    assert process.stop(spec.pid_path, timeout_s=5) == "not running"


def test_a_recycled_pid_is_not_ours(tmp_path: Path) -> None:
    # The pid file names our own test process, but another start time: never signal it.
    import os

    pid_path = tmp_path / "other.pid"
    pid_path.write_text(json.dumps({"pid": os.getpid(), "start_time": 1, "exe": "/usr/bin/x"}))
    assert process.read_pid(pid_path) is None
    assert process.stop(pid_path, timeout_s=1) == "not running"


def test_garbage_pid_file_means_not_running(tmp_path: Path) -> None:
    pid_path = tmp_path / "bad.pid"
    pid_path.write_text("not json")
    assert process.read_pid(pid_path) is None


def test_cassandra_config_uses_the_settings(tmp_path: Path) -> None:
    settings = StackSettings.from_env(
        {
            "SUBBUZZ_STATE_DIR": str(tmp_path),
            "SUBBUZZ_CASSANDRA_PORT": "19042",
            "SUBBUZZ_CASSANDRA_STORAGE_PORT": "17000",
        }
    )
    conf = cassandra.write_config(settings)
    yaml = (conf / "cassandra.yaml").read_text()
    assert "native_transport_port: 19042" in yaml
    assert 'seeds: "127.0.0.1:17000"' in yaml
    assert f"commitlog_directory: {tmp_path}/cassandra/data/commitlog" in yaml
    assert "$" not in yaml


def test_nsqd_flags_use_the_settings(tmp_path: Path) -> None:
    settings = StackSettings.from_env(
        {
            "SUBBUZZ_STATE_DIR": str(tmp_path),
            "SUBBUZZ_NSQD_TCP_PORT": "14150",
            "SUBBUZZ_NSQLOOKUPD_TCP_PORT": "14160",
        }
    )
    command = nsq.nsqd_spec(settings).command
    assert "--tcp-address=127.0.0.1:14150" in command
    assert "--lookupd-tcp-address=127.0.0.1:14160" in command
    assert "--broadcast-address=127.0.0.1" in command
