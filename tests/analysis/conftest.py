"""Fixtures for the analyser's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import write_tree


@pytest.fixture
def tree(tmp_path: Path):
    """``tree({...})`` writes a project into a fresh directory and returns its path."""

    def make(files: dict[str, str | bytes]) -> Path:
        return write_tree(tmp_path / "proj", files)

    return make
