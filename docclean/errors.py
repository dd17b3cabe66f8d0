"""Typed errors and the exit codes they map to (one place, used by the CLI boundary)."""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Process exit codes; stable, documented in README.md."""

    OK = 0
    INPUT_FAILED = 1
    USAGE = 2
    MODEL = 3
    DATA = 4
    OUTPUT = 5
    INTERRUPTED = 130


class DocCleanError(Exception):
    """Base of every error docclean raises on purpose.

    ``message`` says what went wrong, ``hint`` what the user can do about it.
    """

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class UsageError(DocCleanError):
    """Options that cannot work together or values out of range."""


class InputError(DocCleanError):
    """One input file cannot be read as an image; the run goes on with the others."""

    exit_code = ExitCode.INPUT_FAILED

    def __init__(self, path: Path | str, cause: str, hint: str | None = None) -> None:
        super().__init__(f"{path}: {cause}", hint)
        self.path = Path(path)
        self.cause = cause


class OutputError(DocCleanError):
    """An output cannot be written (permissions, collisions, would overwrite an input)."""

    exit_code = ExitCode.OUTPUT


class OutputExistsError(OutputError):
    """An output appeared after it was planned (another process); it was not replaced."""


class ModelError(DocCleanError):
    """A model cannot be found, loaded, trusted or run."""

    exit_code = ExitCode.MODEL


class DataError(DocCleanError):
    """Training or evaluation data is incomplete or inconsistent."""

    exit_code = ExitCode.DATA
