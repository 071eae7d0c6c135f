"""The GraphQL API: types, the Query, per-request DataLoaders and the typed context.

``schema.schema.build_schema`` makes the executable schema; ``schema.graphql`` is its printed
SDL, kept in the repository and checked by a unit test.
"""
