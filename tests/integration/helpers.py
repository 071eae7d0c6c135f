"""Small helpers shared by integration tests."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def venv_script(name: str) -> str:
    """A console script installed beside this interpreter (the project's virtualenv)."""
    beside = Path(sys.executable).parent / name
    exe = str(beside) if beside.exists() else shutil.which(name)
    assert exe, f"{name} is not installed in this environment (make install)"
    return exe
