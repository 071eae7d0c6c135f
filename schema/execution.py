"""A faster way through lists of plain objects, inside graphql-core's own executor.

A dashboard query completes ~330 fields, and ~320 of them are the plain leaf fields of a list
of objects (50 sub-buzzes x 5 fields, 24 points x 3). graphql-core runs its full per-field
machinery for each (resolve info, awaitable checks, path, error handling): ~8 µs a field,
about 2.5 ms of one request's CPU. For a list whose items are objects and whose selected
fields are all *basic* (no resolver, no arguments, a scalar or enum type) the result is
nothing more than ``{key: serialize(getattr(item, name))}`` per item, so that is what this
execution context builds, with a plan made once per list field.

Any value the plan does not expect (a null, an awaitable, a value the scalar refuses, an
exception) sends the whole list back through graphql-core's ordinary path, which then produces
exactly the result and errors it always would: the fast path never decides an error case.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetails
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

# (response key, resolve(source, info) -> raw value, serialize(raw) -> output, nullable);
# a resolve of None marks __typename, whose value is the serialize slot (a constant).
_Column = tuple[str, Callable[..., Any] | None, Any, bool]

_NOT_PLANNABLE: tuple[_Column, ...] = ()

# Values that are certainly not awaitable, so the generic awaitable check can be skipped.
_PLAIN_TYPES = frozenset({int, float, str, bool, type(None)})


class _Fallback(Exception):
    """The fast path met something it does not decide; the generic path takes over."""


class FastListExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with a fast path for lists of basic-field objects."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Plans by the identity of the list field's node group, like graphql-core's own
        # sub-field memo; the group is kept alive beside the plan so its id is not reused.
        self._list_plans: dict[tuple[int, int], tuple[Any, tuple[_Column, ...]]] = {}

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: list[FieldDetails],
        info: GraphQLResolveInfo,
        path: Path,
        items: Iterable[Any],
        position_context: Any,
    ) -> Any:
        columns = self._plan(item_type, field_details_list, path)
        if columns:
            items = items if isinstance(items, list | tuple) else list(items)
            try:
                return [_row(item, columns) for item in items]
            except _Fallback:
                pass
        return super().complete_iterable_value(
            item_type, field_details_list, info, path, items, position_context
        )

    def _plan(
        self, item_type: GraphQLOutputType, field_details_list: list[FieldDetails], path: Path
    ) -> tuple[_Column, ...]:
        key = (id(item_type), id(field_details_list))
        cached = self._list_plans.get(key)
        if cached is not None:
            return cached[1]
        columns = self._make_plan(item_type, field_details_list, path)
        self._list_plans[key] = (field_details_list, columns)
        return columns

    def _make_plan(
        self, item_type: GraphQLOutputType, field_details_list: list[FieldDetails], path: Path
    ) -> tuple[_Column, ...]:
        object_type = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if not isinstance(object_type, GraphQLObjectType) or object_type.is_type_of:
            return _NOT_PLANNABLE
        if self.get_stream_usage(field_details_list, path) is not None:
            return _NOT_PLANNABLE
        collected = self.collect_subfields(object_type, field_details_list)
        if collected.new_defer_usages or collected.forbidden_directive_instances:
            return _NOT_PLANNABLE
        columns: list[_Column] = []
        for response_key, details in collected.grouped_field_set.items():
            name = details[0].node.name.value
            if name == "__typename":
                columns.append((response_key, None, object_type.name, False))
                continue
            field = object_type.fields.get(name)
            resolve = field.resolve if field is not None else None
            if field is None or resolve is None or field.args:
                return _NOT_PLANNABLE
            if not getattr(resolve, "_is_default", False):
                return _NOT_PLANNABLE  # a resolver of the schema's own: it runs as usual
            middleware = self.middleware_manager
            if middleware is not None and middleware.get_field_resolver(resolve) is not resolve:
                return _NOT_PLANNABLE  # a middleware wraps the field: it must see each call
            nullable = not isinstance(field.type, GraphQLNonNull)
            leaf = field.type if nullable else field.type.of_type
            if not is_leaf_type(leaf):
                return _NOT_PLANNABLE
            assert isinstance(leaf, GraphQLLeafType)
            reader = _reader(field, resolve)
            columns.append((response_key, reader, leaf.coerce_output_value, nullable))
        return tuple(columns)


def _reader(field: GraphQLField, resolve: Callable[..., Any]) -> Callable[..., Any]:
    """``field.resolve`` itself, or the attribute getter it amounts to: strawberry's basic
    resolver calls ``default_resolver(source, python_name)``, three calls deep."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        isinstance(definition, StrawberryField)
        and definition.is_basic_field
        and definition.default_resolver is getattr
        and definition.python_name
    ):
        get = operator.attrgetter(definition.python_name)
        return lambda source, _info: get(source)
    return resolve


def _row(item: Any, columns: tuple[_Column, ...]) -> dict[str, Any]:
    if item is None or isinstance(item, Exception):
        raise _Fallback
    row: dict[str, Any] = {}
    for response_key, resolve, serialize, nullable in columns:
        if resolve is None:
            row[response_key] = serialize
            continue
        try:
            value = resolve(item, None)
        except Exception:
            raise _Fallback from None
        if value is None:
            if not nullable:
                raise _Fallback
            row[response_key] = None
            continue
        if type(value) not in _PLAIN_TYPES and _is_awaitable(value):
            raise _Fallback
        try:
            output = serialize(value)
        except Exception:
            raise _Fallback from None
        if output is None or output is Undefined:
            raise _Fallback
        row[response_key] = output
    return row


def _is_awaitable(value: Any) -> bool:
    return hasattr(value, "__await__")
