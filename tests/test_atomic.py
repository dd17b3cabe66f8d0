"""Atomic output: the target is whole or untouched, never half-written; no temporary file stays."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from docclean.io.atomic import atomic_path, current_umask, write_text_atomic


def test_success_replaces_the_target_with_ordinary_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    write_text_atomic(target, "old")
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o666 & ~current_umask()
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_failure_keeps_the_old_target_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("encoder failed")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]
