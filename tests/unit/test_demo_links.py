"""The GraphiQL links `subbuzz demo` prints: they decode, as Strawberry's GraphiQL page decodes
them, to documents that are valid against the schema."""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import pytest
from graphql import parse, validate

from schema.schema import schema
from subbuzz.demo import GRAPHIQL_QUERY, GRAPHIQL_SUBSCRIPTION, SAMPLE_QUERY, graphiql_link


def _as_graphiql_reads(url: str) -> dict[str, str]:
    # The page splits location.search on '&' and '=' and applies decodeURIComponent, which
    # (unlike form decoding) leaves '+' alone: unquote, not unquote_plus.
    parameters = {}
    for entry in urlsplit(url).query.split("&"):
        name, _, value = entry.partition("=")
        parameters[unquote(name)] = unquote(value)
    return parameters


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (GRAPHIQL_QUERY, {"id": "art-a+b 1"}),
        (GRAPHIQL_SUBSCRIPTION, {"since": "2026-12-03T00:00:00Z"}),
    ],
)
def test_link_prefills_a_valid_document_and_its_variables(
    document: str, variables: dict[str, object]
) -> None:
    url = graphiql_link("http://127.0.0.1:8000", document, variables)
    assert url.startswith("http://127.0.0.1:8000/graphql?q=")
    read = _as_graphiql_reads(url)
    assert read["q"] == document
    assert json.loads(read["variables"]) == variables
    assert validate(schema._schema, parse(read["q"])) == []


def test_printed_sample_query_is_valid() -> None:
    assert validate(schema._schema, parse(SAMPLE_QUERY % "art-1")) == []
