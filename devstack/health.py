"""Readiness probes: a CQL query for Cassandra, ``/ping`` for the NSQ daemons."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request


def http_ok(url: str, *, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def cassandra_release_version(host: str, port: int, *, timeout_s: float = 5.0) -> str | None:
    """``release_version`` from ``system.local``, or ``None`` while CQL does not answer."""
    from cassandra.cluster import Cluster

    # A refused connection is the normal state while Cassandra boots: keep the driver quiet.
    driver_log = logging.getLogger("cassandra")
    previous = driver_log.level
    driver_log.setLevel(logging.CRITICAL)
    cluster = Cluster(
        contact_points=[host], port=port, connect_timeout=timeout_s, protocol_version=5
    )
    try:
        session = cluster.connect()
        row = session.execute("SELECT release_version FROM system.local", timeout=timeout_s).one()
        return str(row.release_version) if row else None
    except Exception:
        return None
    finally:
        cluster.shutdown()
        driver_log.setLevel(previous)


def cassandra_ready(host: str, port: int) -> bool:
    return cassandra_release_version(host, port) is not None
