"""Markers come from the folder: tests/unit -> unit, tests/integration -> integration."""

from __future__ import annotations

from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        relative = Path(str(item.path)).resolve().relative_to(_TESTS)
        folder = relative.parts[0]
        if folder in {"unit", "integration"}:
            item.add_marker(getattr(pytest.mark, folder))
