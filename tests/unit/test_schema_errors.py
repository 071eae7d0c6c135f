"""Internal errors reach the client masked (generic message + request id), the log has them;
bad arguments and validation errors reach the client as they are."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from schema.context import Context
from schema.ranking import AllTimeBoard, WindowRankings
from schema.schema import build_schema


class _BrokenStore:
    """Not a Cassandra stand-in: an object whose every read fails in an unexpected way."""

    async def article_totals(self, ids: Any) -> Any:
        raise RuntimeError("secret detail: node 10.0.0.7 refused")


def _context() -> Context:
    store: Any = _BrokenStore()
    return Context(
        store=store,
        window_rankings=WindowRankings(store, ttl_s=0),
        all_time=AllTimeBoard(store),
        request_id="req-42",
    )


async def test_an_internal_error_is_masked_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="schema.schema")
    context = _context()
    result = await build_schema().execute('{ article(id: "a") { views } }', context_value=context)
    assert result.errors is not None
    (error,) = result.errors
    assert "secret" not in error.message
    assert "req-42" in error.message
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}
    assert "secret detail" in caplog.text and "req-42" in caplog.text
    assert context.operation == "article"
    assert context.error_codes == ["INTERNAL_SERVER_ERROR"]


async def test_a_bad_argument_is_shown_as_is() -> None:
    result = await build_schema().execute(
        "{ topArticles(limit: 0) { rank } }", context_value=_context()
    )
    assert result.errors is not None
    (error,) = result.errors
    assert error.message == "topArticles: limit must be between 1 and 100, got 0"
    assert error.extensions == {"code": "BAD_USER_INPUT"}


async def test_a_validation_error_is_shown_as_is() -> None:
    result = await build_schema().execute(
        '{ article(id: "a") { series(granularity: MINUTE) { start } } }',
        context_value=_context(),
    )
    assert result.errors is not None
    assert "MINUTE" in result.errors[0].message
