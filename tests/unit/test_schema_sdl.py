"""The printed SDL in schema/schema.graphql is the contract: code and file must agree."""

from __future__ import annotations

from schema.schema import SDL_PATH, build_schema, print_sdl
from schema.windows import BadArgument


def test_schema_graphql_matches_the_code() -> None:
    printed = print_sdl()
    kept = SDL_PATH.read_text(encoding="utf-8")
    assert kept == printed, (
        "schema/schema.graphql is out of date; regenerate it with\n"
        "  .venv/bin/python -c 'from schema.schema import SDL_PATH, print_sdl; "
        "SDL_PATH.write_text(print_sdl())'"
    )


def test_contract_names_are_in_the_sdl() -> None:
    sdl = print_sdl()
    for line in (
        "article(id: ID!): Article",
        "articles(ids: [ID!]!): [Article]!",
        "topArticles(by: ArticleMetric! = VIEWS, since: DateTime = null, "
        "until: DateTime = null, limit: Int! = 10): [RankedArticle!]!",
        "session(id: ID!): Engagement",
        "user(id: ID!): Engagement",
        "series(granularity: Granularity! = HOUR, since: DateTime = null, "
        "until: DateTime = null): [Point!]!",
        "scalar BigInt",
        "scalar DateTime",
    ):
        assert line in sdl


def test_production_schema_prints_the_same_types() -> None:
    # Introspection off changes validation, not the types.
    from schema.schema import Limits

    assert build_schema(Limits(introspection=False)).as_str() == build_schema().as_str()


def test_bad_argument_is_shown_to_clients_as_bad_user_input() -> None:
    assert BadArgument.extensions == {"code": "BAD_USER_INPUT"}
