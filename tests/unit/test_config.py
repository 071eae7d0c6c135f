from pathlib import Path

import pytest

from subbuzz.config import (
    CassandraSettings,
    NsqSettings,
    SettingsError,
    StackSettings,
    replication_map,
)


def test_defaults_work_with_the_local_stack() -> None:
    cassandra = CassandraSettings.from_env({})
    nsq = NsqSettings.from_env({})
    assert cassandra.cassandra_hosts == ("127.0.0.1",)
    assert cassandra.cassandra_port == 9042
    assert cassandra.keyspace == "subbuzz"
    assert nsq.nsqd_tcp_addresses == ("127.0.0.1:4150",)
    assert nsq.nsqd_http_address == "127.0.0.1:4151"
    assert (nsq.topic, nsq.channel, nsq.dead_letter_topic) == (
        "subbuzz_views",
        "counters",
        "subbuzz_views_dead",
    )


def test_client_addresses_follow_the_stack_ports() -> None:
    env = {"SUBBUZZ_NSQD_TCP_PORT": "14150", "SUBBUZZ_NSQD_HTTP_PORT": "14151"}
    nsq = NsqSettings.from_env(env)
    assert nsq.nsqd_tcp_addresses == ("127.0.0.1:14150",)
    assert nsq.nsqd_http_address == "127.0.0.1:14151"


def test_explicit_addresses_win_over_derived_ones() -> None:
    env = {
        "SUBBUZZ_NSQD_TCP_PORT": "14150",
        "SUBBUZZ_NSQD_TCP_ADDRESSES": "127.0.0.5:1, 127.0.0.6:2",
    }
    assert NsqSettings.from_env(env).nsqd_tcp_addresses == ("127.0.0.5:1", "127.0.0.6:2")


def test_overrides_win_over_environment() -> None:
    settings = CassandraSettings.from_env({"SUBBUZZ_KEYSPACE": "from_env"}, keyspace="flag")
    assert settings.keyspace == "flag"


def test_paths_expand_home() -> None:
    settings = StackSettings.from_env({"SUBBUZZ_CACHE_DIR": "~/x"})
    assert settings.cache_dir == Path("~/x").expanduser()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SUBBUZZ_CASSANDRA_PORT": "nine"}, "SUBBUZZ_CASSANDRA_PORT='nine' is invalid"),
        ({"SUBBUZZ_CASSANDRA_PORT": "70000"}, "not a TCP port"),
        ({"SUBBUZZ_KEYSPACE": "Bad-Name"}, "SUBBUZZ_KEYSPACE"),
        ({"SUBBUZZ_CONSISTENCY": "TWO_AND_A_HALF"}, "SUBBUZZ_CONSISTENCY"),
        ({"SUBBUZZ_REPLICATION": "Simple:3"}, "SUBBUZZ_REPLICATION"),
    ],
)
def test_bad_cassandra_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        CassandraSettings.from_env(env)


def test_stack_refuses_non_loopback_hosts() -> None:
    with pytest.raises(SettingsError, match="loopback"):
        StackSettings.from_env({"SUBBUZZ_HOST": "10.0.0.1"})


def test_bad_topic_name_is_refused() -> None:
    with pytest.raises(SettingsError, match="SUBBUZZ_TOPIC"):
        NsqSettings.from_env({"SUBBUZZ_TOPIC": "has space"})


def test_replication_maps() -> None:
    assert replication_map("SimpleStrategy:3") == {
        "class": "SimpleStrategy",
        "replication_factor": "3",
    }
    assert replication_map("NetworkTopologyStrategy:dc1=3, dc2=2") == {
        "class": "NetworkTopologyStrategy",
        "dc1": "3",
        "dc2": "2",
    }
    for bad in ("SimpleStrategy:0", "NetworkTopologyStrategy:", "Other:1"):
        with pytest.raises(ValueError):
            replication_map(bad)
