"""Driver errors become StoreError flags: what a caller may retry, and what may have applied."""

import pytest
from cassandra import InvalidRequest, OperationTimedOut, Unavailable, WriteTimeout, WriteType
from cassandra.cluster import NoHostAvailable
from cassandra.connection import ConnectionBusy, ConnectionShutdown

from cql.store import translate_error


@pytest.mark.parametrize(
    ("error", "is_write", "retriable", "outcome_unknown"),
    [
        (WriteTimeout("timeout", write_type=WriteType.COUNTER), True, True, True),
        (OperationTimedOut("client gave up"), True, True, True),
        (OperationTimedOut("client gave up"), False, True, False),
        (ConnectionShutdown("closed mid-write"), True, True, True),
        (ConnectionShutdown("closed mid-read"), False, True, False),
        (ConnectionBusy("never sent"), True, True, False),
        (NoHostAvailable("nobody up", {}), True, True, False),
        (Unavailable("replicas down"), True, True, False),
        (InvalidRequest("no such table"), True, False, False),
    ],
)
def test_flags(error: Exception, is_write: bool, retriable: bool, outcome_unknown: bool) -> None:
    translated = translate_error(error, is_write=is_write)
    assert (translated.retriable, translated.outcome_unknown) == (retriable, outcome_unknown)
    assert type(error).__name__ in str(translated)
