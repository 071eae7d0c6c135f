"""The fast list path gives exactly graphql-core's result, errors included, and is really taken."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from typing import Any, NewType

import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema import execution
from schema.execution import FastListExecutionContext


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


Strict = NewType("Strict", int)


def _strict(value: Any) -> int:
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"Strict expects a non-negative int, got {value!r}")
    return value


@strawberry.type
class Cell:
    name: str
    size: int
    ratio: float
    nickname: str | None
    colour: Colour
    strict: Strict
    id: strawberry.ID

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.name.upper() * times

    @strawberry.field
    def children(self) -> list[Cell]:
        return [_cell(f"{self.name}.{index}", index) for index in range(2)]


def _cell(label: str, size: int, **changes: Any) -> Cell:
    values: dict[str, Any] = {
        "name": label,
        "size": size,
        "ratio": size / 4,
        "nickname": None if size % 2 else f"nick-{label}",
        "colour": Colour.RED if size % 2 else Colour.BLUE,
        "strict": Strict(size),
        "id": strawberry.ID(f"id-{size}"),
    }
    values.update(changes)
    return Cell(**values)


async def _awaitable_name() -> str:
    return "late"


UNUSUAL: dict[str, Callable[[], list[Any]]] = {
    "null_in_non_null_field": lambda: [_cell("a", 1), _cell("b", 2, name=None)],
    "scalar_refuses": lambda: [_cell("a", 1), _cell("b", 2, strict=-5)],
    "wrong_type": lambda: [_cell("a", 1), _cell("b", 2, ratio="many")],
    "item_is_none": lambda: [_cell("a", 1), None],
    "awaitable_value": lambda: [_cell("a", 1), _cell("b", 2, name=_awaitable_name())],
}


@strawberry.type
class Query:
    @strawberry.field
    def cells(self, count: int = 50) -> list[Cell]:
        return [_cell(f"c{index}", index) for index in range(count)]

    @strawberry.field
    def maybe_cells(self) -> list[Cell | None]:
        return [_cell("a", 1), None, _cell("b", 2)]

    @strawberry.field
    def generated(self) -> list[Cell]:
        return (_cell(f"g{index}", index) for index in range(3))  # type: ignore[return-value]

    @strawberry.field
    def unusual(self, case: str) -> list[Cell]:
        return UNUSUAL[case]()

    @strawberry.field
    def grid(self) -> list[list[Cell]]:
        return [[_cell("a", 1), _cell("b", 2)], [_cell("c", 3)]]


SCALARS = {Strict: strawberry.scalar(name="Strict", serialize=_strict, parse_value=_strict)}


def _schema(execution_context_class: Any, extensions: list[Any] | None = None) -> Any:
    return strawberry.Schema(
        query=Query,
        execution_context_class=execution_context_class,
        extensions=extensions or [],
        config=StrawberryConfig(scalar_map=SCALARS),
    )


FAST = _schema(FastListExecutionContext)
STOCK = _schema(StrawberryGraphQLCoreExecutionContext)

ALL_LEAVES = "name size ratio nickname colour strict id"
DOCUMENTS = {
    "all_leaves": f"{{ cells {{ {ALL_LEAVES} }} }}",
    "aliases_and_typename": "{ cells(count: 3) { n: name name s: size __typename } }",
    "fragments": (
        "{ cells(count: 4) { ...A ... on Cell { ratio } } } fragment A on Cell { name size }"
    ),
    "skip_include": (
        "query($yes: Boolean!) { cells(count: 3) { name @include(if: $yes) "
        "size @skip(if: $yes) colour } }"
    ),
    "field_with_arguments": "{ cells(count: 3) { name shout(times: 2) } }",
    "nested_lists": "{ cells(count: 2) { name children { name size } } }",
    "nullable_items": "{ maybeCells { name nickname } }",
    "generator": "{ generated { name size } }",
    "list_of_lists": "{ grid { name } }",
    "empty": "{ cells(count: 0) { name } }",
    **{
        f"unusual_{case}": f'{{ unusual(case: "{case}") {{ name size ratio strict }} }}'
        for case in UNUSUAL
    },
}


def _plain(result: Any) -> tuple[Any, list[tuple[str, Any]]]:
    errors = sorted((error.message, error.path) for error in result.errors or ())
    return result.data, errors


@pytest.fixture
def fast_rows(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the items the fast path built (a row count per call)."""
    calls: list[int] = []
    original = execution._row

    def counting(item: Any, columns: Any) -> dict[str, Any]:
        calls.append(1)
        return original(item, columns)

    monkeypatch.setattr(execution, "_row", counting)
    yield calls


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
async def test_fast_path_gives_the_stock_result(name: str) -> None:
    variables = {"yes": True}
    fast = await FAST.execute(DOCUMENTS[name], variable_values=variables)
    stock = await STOCK.execute(DOCUMENTS[name], variable_values=variables)
    assert _plain(fast) == _plain(stock)


# Values the fast path hands back to graphql-core; all but the awaitable one are errors there.
ERROR_CASES = sorted(set(UNUSUAL) - {"awaitable_value"})


@pytest.mark.parametrize("case", ERROR_CASES)
async def test_a_bad_value_falls_back_and_reports_the_stock_error(
    case: str, fast_rows: list[int]
) -> None:
    result = await FAST.execute(f'{{ unusual(case: "{case}") {{ name size ratio strict }} }}')
    assert fast_rows, "the fast path must have tried the list before handing it back"
    assert result.errors, "the bad value must surface as an error, as graphql-core reports it"
    assert _plain(result) == _plain(await STOCK.execute(DOCUMENTS[f"unusual_{case}"]))


async def test_the_fast_path_builds_plain_lists(fast_rows: list[int]) -> None:
    result = await FAST.execute(f"{{ cells(count: 50) {{ {ALL_LEAVES} }} }}")
    assert not result.errors
    assert len(fast_rows) == 50
    assert result.data["cells"][3] == {
        "name": "c3",
        "size": 3,
        "ratio": 0.75,
        "nickname": None,
        "colour": "RED",
        "strict": 3,
        "id": "id-3",
    }


async def test_a_resolver_field_keeps_the_list_on_the_stock_path(fast_rows: list[int]) -> None:
    result = await FAST.execute("{ cells(count: 5) { name shout } }")
    assert not result.errors
    assert fast_rows == []
    assert result.data["cells"][1] == {"name": "c1", "shout": "C1"}


class _Doubling(SchemaExtension):
    """An extension with a resolve hook: graphql-core runs it as middleware on every field."""

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        value = _next(root, info, *args, **kwargs)
        return value * 2 if isinstance(value, int) and not isinstance(value, bool) else value


async def test_a_resolve_hook_sees_every_field(fast_rows: list[int]) -> None:
    fast = _schema(FastListExecutionContext, [_Doubling])
    stock = _schema(StrawberryGraphQLCoreExecutionContext, [_Doubling])
    document = "{ cells(count: 3) { name size } }"
    fast_result = await fast.execute(document)
    assert fast_rows == []
    assert fast_result.data["cells"][2]["size"] == 4
    assert _plain(fast_result) == _plain(await stock.execute(document))
