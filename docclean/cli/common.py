"""What every command shares: the error boundary, signal handling, device option, model loading."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from docclean.errors import DocCleanError, ExitCode
from docclean.progress import Reporter


def _flags_show_no_type() -> None:
    """Typer 0.29's rich help prints a type beside every option, flags included (``--json <bool>``,
    even ``--help <bool>``), although a flag takes no value and its plain help leaves it out. Give
    the rich help the same rule, once for every command: no type for flags and counters."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "flags_left_out", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag or self.count else shown(self, ctx)

    display_type_rich.flags_left_out = True  # type: ignore[attr-defined]
    setattr(TyperOption, "display_type_rich", display_type_rich)  # noqa: B010


_flags_show_no_type()


@contextmanager
def errors_to_exit_codes(reporter: Reporter) -> Iterator[None]:
    """The one place where library errors become a message on stderr and an exit code."""
    try:
        yield
    except DocCleanError as exc:
        reporter.error(str(exc))
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        reporter.error("interrupted")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


@contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C, so a killed batch run stops between files like an interrupted one."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (e.g. under a test runner's thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def data_folders(
    data: Path | None, noisy: Path | None, clean: Path | None, command: str
) -> tuple[Path, Path]:
    """The noisy and clean folders of ``train`` and ``evaluate``: one folder holding ``noisy/`` and
    ``clean/``, or both flags. Giving neither or both is a usage error (exit 2); a folder that is
    missing is a data error (exit 4)."""
    from docclean.errors import UsageError
    from docclean.training.data import pair_dirs

    if data is not None and (noisy is not None or clean is not None):
        raise UsageError(
            "give a folder holding noisy/ and clean/, or --noisy and --clean, not both"
        )
    if data is None and (noisy is None or clean is None):
        raise UsageError(
            f"{command} needs a folder holding noisy/ and clean/, or --noisy DIR and --clean DIR"
        )
    return pair_dirs(data, noisy, clean)


@contextmanager
def stdout_checked(reporter: Reporter) -> Iterator[None]:
    """What the block prints to stdout either all arrives or the command says so: a closed pipe
    or a full disk is one error line and exit 5, never a traceback or a silent loss."""
    import os
    import stat
    import sys

    try:
        yield
        sys.stdout.flush()
        with suppress(AttributeError, ValueError, io.UnsupportedOperation):
            fd = sys.stdout.fileno()
            if stat.S_ISREG(os.fstat(fd).st_mode):  # a full disk may say so only here
                os.fsync(fd)
    except OSError as exc:
        with suppress(OSError, ValueError, AttributeError, io.UnsupportedOperation):
            null = os.open(os.devnull, os.O_WRONLY)  # so that Python's flush at exit succeeds
            os.dup2(null, sys.stdout.fileno())
            os.close(null)
        if isinstance(exc, BrokenPipeError):
            cause = "the reader closed it (broken pipe)"
        else:
            cause = (exc.strerror or str(exc)).lower()
        reporter.error(f"cannot write to stdout: {cause}")
        raise typer.Exit(int(ExitCode.OUTPUT)) from None


class DeviceChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    gpu = "gpu"


DeviceOption = Annotated[
    DeviceChoice,
    typer.Option(help="auto: a GPU when TensorFlow sees one; cpu; gpu (fails without one)."),
]


def _page_cleaner(
    model: str | None,
    tile_size: int | None,
    batch_size: int | None,
    device: DeviceChoice,
    binarize: bool = False,
    mixed_precision: bool = False,
) -> Any:
    from docclean.backend import tensorflow
    from docclean.inference.cleaner import PageCleaner
    from docclean.models.store import DEFAULT_BINARIZE_MODEL, load_model

    tensorflow(device.value)
    if model is None and binarize:
        model = DEFAULT_BINARIZE_MODEL
    return PageCleaner(
        load_model(model),
        tile_size=tile_size,
        batch_size=batch_size,
        device=device.value,
        binarize=binarize,
        mixed_precision=mixed_precision,
    )


def device_in_use() -> str:
    from docclean.backend import device_in_use as in_use

    return in_use()
