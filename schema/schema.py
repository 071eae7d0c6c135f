"""``schema = strawberry.Schema(...)``, in one place, with the protection the server needs.

``build_schema`` is what the server calls with its settings; the module-level ``schema``
(default limits, introspection on) is what ``schema.graphql`` is printed from.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError, OperationDefinitionNode
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import BatchingConfig, StrawberryConfig
from strawberry.types import ExecutionContext

from .context import Context
from .execution import FastListExecutionContext
from .query import Query
from .subscription import Subscription
from .types import SCALARS
from .windows import BadArgument

log = logging.getLogger(__name__)

SDL_PATH = Path(__file__).resolve().parent / "schema.graphql"


@dataclass(frozen=True)
class Limits:
    max_depth: int = 6
    max_tokens: int = 2000
    max_aliases: int = 15
    # 0 turns operation batching off (a JSON array is refused with 400).
    max_batch_operations: int = 0
    introspection: bool = True


def _is_client_error(error: GraphQLError) -> bool:
    """Errors before execution (parse, validation, variable or literal coercion: no path) and
    bad arguments are the client's; anything else raised while resolving is internal."""
    original = error.original_error
    if error.path is None or original is None:
        return True
    return isinstance(original, BadArgument | GraphQLError)


def _context(execution_context: ExecutionContext | None) -> Context | None:
    context = getattr(execution_context, "context", None)
    return context if isinstance(context, Context) else None


class _MaskInternalErrors(MaskErrors):
    """A client sees a generic message and the request id; the log has the detail."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not _is_client_error(error))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = _context(self.execution_context)
        request_id = context.request_id if context else "unknown"
        return GraphQLError(
            f"Internal error; quote request id {request_id} when reporting it.",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )


class _OperationLabel(SchemaExtension):
    """Names the operation by its root fields (a bounded label set, unlike client-given
    operation names) and records error codes, for the HTTP layer's metrics."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = _context(self.execution_context)
        if context is None:
            return
        document = self.execution_context.graphql_document
        fields: set[str] = set()
        for definition in document.definitions if document else ():
            if isinstance(definition, OperationDefinitionNode):
                for selection in definition.selection_set.selections:
                    name = getattr(selection, "name", None)
                    if name is not None:
                        fields.add(name.value)
        context.operation = "+".join(sorted(fields)) if fields else "invalid"
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or ():
            code = (error.extensions or {}).get("code")
            context.error_codes.append(str(code) if code else "GRAPHQL_VALIDATION_FAILED")


class _Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        context = _context(execution_context)
        request_id = context.request_id if context else "-"
        for error in errors:
            if _is_client_error(error):
                log.info("request %s: client error: %s", request_id, error.message)
            else:
                log.error(
                    "request %s: internal error at %s: %s",
                    request_id,
                    error.path,
                    error.message,
                    exc_info=error.original_error,
                )


def build_schema(limits: Limits = Limits()) -> strawberry.Schema:
    # The limiters' rule classes are made once here: made per request (as the limiter
    # extensions do), they would defeat the validation cache, whose key includes the rules.
    rules = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    if not limits.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list[Any] = [
        functools.partial(AddValidationRules, rules),
        functools.partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        _OperationLabel,
        _MaskInternalErrors,
        # Panels send the same few documents over and over: parse and validate each once.
        functools.partial(ParserCache, maxsize=256),
        functools.partial(ValidationCache, maxsize=256),
    ]
    batching = (
        BatchingConfig(max_operations=limits.max_batch_operations)
        if limits.max_batch_operations > 0
        else None
    )
    return _Schema(
        query=Query,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=FastListExecutionContext,
        config=StrawberryConfig(
            scalar_map=SCALARS,
            batching_config=batching,
        ),
    )


schema = build_schema()


def print_sdl() -> str:
    return schema.as_str() + "\n"
