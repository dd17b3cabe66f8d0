"""Atomic file output: write beside the target, then rename, so no reader ever sees half a file."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

NAME_MAX = 255
"""Longest file name (in bytes) the file systems docclean writes to accept."""
_RANDOM_PART = 8  # characters tempfile adds to a name
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_NO_EXCLUSIVE_RENAME = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV}


class TargetExistsError(FileExistsError):
    """The target appeared while its content was being written; it was left as it is."""


def hidden_name(name: str, tag: str, room: int = 0) -> str:
    """``.NAME.TAG`` for a file docclean keeps beside ``NAME``, shortened to a hash of ``NAME``
    when it would not fit NAME_MAX bytes with ``room`` bytes to spare."""
    full = f".{name}.{tag}"
    if len(os.fsencode(full)) + room <= NAME_MAX:
        return full
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:16]
    return f".{digest}.{tag}"


def current_umask() -> int:
    """The process umask, read from /proc where possible (changing it briefly races with threads)."""
    with (
        contextlib.suppress(OSError, ValueError),
        open("/proc/self/status", encoding="ascii") as fh,
    ):
        for line in fh:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: Path, suffix: str = ".part", overwrite: bool = True) -> Iterator[Path]:
    """A temporary file beside ``path`` for the block to fill; renamed onto ``path`` when the
    block succeeds, removed when it fails. The file gets ordinary permissions (0666 less the
    umask) and is synced to disk before the rename; the folder is synced after it.

    Without ``overwrite`` the final placement is exclusive: when ``path`` appeared meanwhile
    (another process, a second run) it is left alone and TargetExistsError is raised.
    The temporary name always fits NAME_MAX, however long ``path``'s name is.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = hidden_name(path.name, "", room=_RANDOM_PART + len(os.fsencode(suffix)))
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    tmp = Path(name)
    try:
        try:
            os.fchmod(fd, 0o666 & ~current_umask())
        finally:
            os.close(fd)
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            place_exclusive(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def place_exclusive(source: Path, target: Path) -> None:
    """Move ``source`` to ``target`` atomically unless ``target`` exists (TargetExistsError).

    Uses renameat2(RENAME_NOREPLACE); where the file system lacks it, a hard link (which fails
    on an existing name) then unlinking ``source``; where neither works, a check then a rename
    (the one case with a window between the two).
    """
    if _rename_noreplace(source, target):
        return
    try:
        os.link(source, target)
    except FileExistsError:
        raise TargetExistsError(
            errno.EEXIST, "the output appeared meanwhile", str(target)
        ) from None
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        if os.path.lexists(target):
            raise TargetExistsError(
                errno.EEXIST, "the output appeared meanwhile", str(target)
            ) from None
        os.replace(source, target)
        return
    os.unlink(source)


def _rename_noreplace(source: Path, target: Path) -> bool:
    """renameat2 with RENAME_NOREPLACE; False where the C library or file system lacks it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (AttributeError, OSError):
        return False
    done = renameat2(
        _AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE
    )
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code == errno.EEXIST:
        raise TargetExistsError(code, "the output appeared meanwhile", str(target))
    if code in _NO_EXCLUSIVE_RENAME:
        return False
    raise OSError(code, os.strerror(code), str(target))


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _fsync_dir(directory: Path) -> None:
    """Best-effort fsync of a folder, so a rename in it survives a crash."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
