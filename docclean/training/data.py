"""Paired training data: matching noisy and clean pages, validation splits and patch sampling."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import cv2
import numpy as np

from docclean.errors import DataError, DocCleanError, UsageError
from docclean.io.images import is_image_path, read_image
from docclean.training.config import DEFAULT_AUGMENT

MAX_LISTED_PROBLEMS = 20


@dataclass(frozen=True)
class PairPaths:
    """A noisy page and its clean target, named by their path relative to their folders (no suffix)."""

    name: str
    noisy: Path
    clean: Path


@dataclass(frozen=True)
class Pair:
    """A decoded pair: two float32 grayscale pages of the same size."""

    name: str
    noisy: np.ndarray
    clean: np.ndarray


def pair_dirs(data: Path | None, noisy: Path | None, clean: Path | None) -> tuple[Path, Path]:
    """The noisy and clean folders from ``--data DIR`` (holding ``noisy/`` and ``clean/``) or both flags."""
    if data is not None:
        if noisy is not None or clean is not None:
            raise DataError("give either a data folder or --noisy and --clean, not both")
        noisy, clean = data / "noisy", data / "clean"
    if noisy is None or clean is None:
        raise DataError("training data needs --noisy DIR and --clean DIR (or one folder with both)")
    for folder in (noisy, clean):
        if not folder.is_dir():
            raise DataError(f"{folder}: not a folder")
    return noisy, clean


def _images_by_name(folder: Path) -> tuple[dict[str, Path], list[str]]:
    found: dict[str, Path] = {}
    problems: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and is_image_path(p)):
        name = path.relative_to(folder).with_suffix("").as_posix()
        if name in found:
            problems.append(f"{path}: same name as {found[name]}")
        else:
            found[name] = path
    return found, problems


def find_pairs(noisy_dir: Path, clean_dir: Path) -> tuple[list[PairPaths], list[str]]:
    """Match images by relative path without suffix; returns the pairs and every problem found."""
    noisy, problems = _images_by_name(noisy_dir)
    clean, clean_problems = _images_by_name(clean_dir)
    problems += clean_problems
    problems += [
        f"{noisy[n]}: no clean partner in {clean_dir}" for n in sorted(set(noisy) - set(clean))
    ]
    problems += [
        f"{clean[n]}: no noisy partner in {noisy_dir}" for n in sorted(set(clean) - set(noisy))
    ]
    pairs = [PairPaths(n, noisy[n], clean[n]) for n in sorted(set(noisy) & set(clean))]
    return pairs, problems


def load_pairs(paths: Sequence[PairPaths]) -> tuple[list[Pair], list[str]]:
    """Decode every pair; unreadable files and size mismatches become problems, named."""
    pairs: list[Pair] = []
    problems: list[str] = []
    for item in paths:
        try:
            noisy = read_image(item.noisy).pixels
            clean = read_image(item.clean).pixels
        except DocCleanError as exc:
            problems.append(str(exc))
            continue
        if noisy.shape != clean.shape:
            problems.append(
                f"{item.noisy}: size {noisy.shape[1]}x{noisy.shape[0]} differs from its clean "
                f"partner's {clean.shape[1]}x{clean.shape[0]}"
            )
            continue
        pairs.append(Pair(item.name, noisy, clean))
    return pairs, problems


def report_problems(
    problems: list[str], skip_bad: bool, warn: Callable[[str], None] | None = None
) -> None:
    """Raise :class:`DataError` listing ``problems``, or pass each to ``warn`` when skipping is allowed."""
    if not problems:
        return
    if skip_bad:
        for line in problems:
            if warn is not None:
                warn(f"skipped {line}")
        return
    shown = problems[:MAX_LISTED_PROBLEMS]
    more = len(problems) - len(shown)
    listing = "\n  ".join(shown) + (f"\n  … and {more} more" if more else "")
    raise DataError(
        f"{len(problems)} problem(s) with the training pairs:\n  {listing}",
        "fix them, or pass --skip-bad-pairs to train on the good pairs only",
    )


class Named(Protocol):
    @property
    def name(self) -> str: ...


NamedT = TypeVar("NamedT", bound=Named)


def split_validation(
    pairs: Sequence[NamedT],
    val_names: Iterable[str] | None = None,
    val_fraction: float = 0.0,
    seed: int = 0,
) -> tuple[list[NamedT], list[NamedT]]:
    """Split whole pages into (train, validation) by a list of names or a seeded random fraction."""
    if val_names is not None:
        wanted = {n.strip() for n in val_names if n.strip()}
        prefixes = [n[:-1] for n in wanted if n.endswith("*")]  # "2016*": every 2016 page
        exact = {Path(n).with_suffix("").as_posix() for n in wanted if not n.endswith("*")}
        known = {p.name for p in pairs}
        unknown = sorted(exact - known)
        unknown += [f"{p}*" for p in prefixes if not any(k.startswith(p) for k in known)]
        by_stem = exact | {k for k in known if any(k.startswith(p) for p in prefixes)}
        if unknown:
            raise DataError(f"validation names not among the pairs: {', '.join(unknown[:10])}")
        val = [p for p in pairs if p.name in by_stem]
        train = [p for p in pairs if p.name not in by_stem]
    else:
        if not 0.0 <= val_fraction < 1.0:
            raise DataError(f"validation fraction must be in [0, 1), not {val_fraction}")
        order = np.random.default_rng(seed).permutation(len(pairs))
        n_val = round(val_fraction * len(pairs))
        if val_fraction > 0 and len(pairs) >= 2:
            n_val = min(max(n_val, 1), len(pairs) - 1)
        val_idx = set(order[:n_val].tolist())
        val = [p for i, p in enumerate(pairs) if i in val_idx]
        train = [p for i, p in enumerate(pairs) if i not in val_idx]
    if not train:
        raise DataError("no training pairs left after taking out the validation pages")
    return train, val


def read_name_list(spec: str) -> list[str]:
    """Validation names from ``@FILE`` (one a line) or a comma-separated list."""
    if spec.startswith("@"):
        path = Path(spec[1:])
        try:
            return path.read_text(encoding="utf-8").split()
        except OSError as exc:
            raise DataError(f"{path}: cannot read the validation list ({exc.strerror})") from None
    return [n for n in spec.split(",") if n.strip()]


AUGMENTATIONS: dict[str, str] = {
    "flip": "mirror patches left-right and top-bottom",
    "turn": "transpose patches (with flip: every quarter turn), so lines down are seen as often "
    "as lines across",
    "tone": "jitter the noisy patch's brightness and contrast (the target stays as it is)",
    "scale": "resample patch pairs by 0.6x to 1.6x, as if scanned at another resolution",
}
"""What ``train --augment`` can apply, in the order applied."""
SCALE_RANGE = (0.6, 1.6)  # log-uniform zoom factors for "scale"


def parse_augment(text: str) -> list[str]:
    """``"flip,scale"`` -> the names in registry order; ``"none"`` or ``""`` -> no augmentation."""
    return check_augment(text.split(","))


def check_augment(names: Iterable[str]) -> list[str]:
    """``names`` in registry order, "none" and blanks dropped; UsageError for an unknown one."""
    wanted = {n.strip() for n in names if n.strip()} - {"none"}
    unknown = sorted(wanted - set(AUGMENTATIONS))
    if unknown:
        known = ", ".join([*AUGMENTATIONS, "none"])
        raise UsageError(f"unknown augmentation {unknown[0]!r}", f"choose from: {known}")
    return [n for n in AUGMENTATIONS if n in wanted]


class PatchSampler:
    """Random aligned patch pairs from pages, weighted by page area, with optional augmentation.

    ``augment`` names entries of :data:`AUGMENTATIONS`. Every one of them keeps noisy and clean
    aligned; only "tone" changes one side, the noisy patch, so a model learns the clean page rather
    than one scanner's exposure.
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        patch_size: int,
        seed: int = 0,
        augment: Sequence[str] = DEFAULT_AUGMENT,
    ) -> None:
        if not pairs:
            raise DataError("no training pairs")
        self.patch_size = patch_size
        self.augment = frozenset(check_augment(augment))
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.pages = [
            (_at_least(p.noisy, patch_size), _at_least(p.clean, patch_size)) for p in pairs
        ]
        areas = np.array([n.size for n, _ in self.pages], dtype=np.float64)
        self.weights = areas / areas.sum()

    @property
    def pixels(self) -> int:
        return int(sum(n.size for n, _ in self.pages))

    def batch(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """The next batch ``(noisy, clean)``, each float32 ``(B, P, P, 1)``."""
        return self._batch(batch_size, self.rng)

    def batch_at(self, step: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch number ``step``: a function of the seed and ``step`` alone, so batches can be
        made ahead on several threads, and a resumed run draws what an uninterrupted one drew."""
        return self._batch(batch_size, np.random.default_rng([self.seed, step]))

    def _batch(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        p = self.patch_size
        noisy = np.empty((batch_size, p, p, 1), dtype=np.float32)
        clean = np.empty_like(noisy)
        for k, page in enumerate(rng.choice(len(self.pages), size=batch_size, p=self.weights)):
            src, dst = self.pages[page]
            a, b = self._crop(src, dst, rng)
            if "flip" in self.augment:
                if rng.random() < 0.5:
                    a, b = a[:, ::-1], b[:, ::-1]
                if rng.random() < 0.5:
                    a, b = a[::-1], b[::-1]
            if "turn" in self.augment and rng.random() < 0.5:
                a, b = a.T, b.T
            if "tone" in self.augment:
                gain, shift = rng.uniform(0.9, 1.1), rng.uniform(-0.05, 0.05)
                a = np.clip(a * gain + shift, 0.0, 1.0)
            noisy[k, ..., 0], clean[k, ..., 0] = a, b
        return noisy, clean

    def _crop(
        self, src: np.ndarray, dst: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """A random aligned ``P x P`` window of a page pair, resampled when "scale" is on."""
        p = self.patch_size
        side = p
        if "scale" in self.augment:
            zoom = math.exp(rng.uniform(*np.log(SCALE_RANGE)))
            side = min(round(p / zoom), *src.shape)  # a page too small to shrink stays at 1x
        y = int(rng.integers(0, src.shape[0] - side + 1))
        x = int(rng.integers(0, src.shape[1] - side + 1))
        a, b = src[y : y + side, x : x + side], dst[y : y + side, x : x + side]
        if side != p:
            interpolation = cv2.INTER_AREA if side > p else cv2.INTER_LINEAR
            a = cv2.resize(a, (p, p), interpolation=interpolation)
            b = cv2.resize(b, (p, p), interpolation=interpolation)
        return a, b

    def batches(self, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        while True:
            yield self.batch(batch_size)


class MixedSampler:
    """Batches from real pairs and, for a ``share`` of their patches on average, from synthetic ones.

    ``share`` None draws from all pairs alike, weighted by page area. Like
    :meth:`PatchSampler.batch_at`, batch ``step`` depends only on the seed and ``step``.
    """

    def __init__(
        self,
        real: Sequence[Pair],
        synthetic: Sequence[Pair],
        share: float | None,
        patch_size: int,
        seed: int,
        augment: Sequence[str],
    ) -> None:
        self.seed = seed
        if share is None or not synthetic or not real:
            self.real = PatchSampler([*real, *synthetic], patch_size, seed, augment)
            self.synthetic: PatchSampler | None = None
            self.share = 0.0
        else:
            self.real = PatchSampler(real, patch_size, seed, augment)
            self.synthetic = PatchSampler(synthetic, patch_size, seed + 1, augment)
            self.share = share

    @property
    def pixels(self) -> int:
        return self.real.pixels + (self.synthetic.pixels if self.synthetic else 0)

    def batch_at(self, step: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        if self.synthetic is None:
            return self.real.batch_at(step, batch_size)
        rng = np.random.default_rng([self.seed, step, 2])
        n_synthetic = int(rng.binomial(batch_size, self.share))
        parts = []
        if n_synthetic < batch_size:
            parts.append(self.real.batch_at(step, batch_size - n_synthetic))
        if n_synthetic:
            parts.append(self.synthetic.batch_at(step, n_synthetic))
        return np.concatenate([n for n, _ in parts]), np.concatenate([c for _, c in parts])


class Prefetcher:
    """Batches ``first``, ``first + 1``, ... made ahead on worker threads, handed out in order."""

    def __init__(
        self,
        make: Callable[[int], tuple[np.ndarray, np.ndarray]],
        first: int,
        threads: int = 2,
        depth: int = 6,
    ) -> None:
        from concurrent.futures import Future, ThreadPoolExecutor

        self._make = make
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="docclean-patches")
        self._queue: deque[Future[tuple[np.ndarray, np.ndarray]]] = deque()
        self._next = first
        for _ in range(depth):
            self._submit()

    def _submit(self) -> None:
        self._queue.append(self._pool.submit(self._make, self._next))
        self._next += 1

    def get(self) -> tuple[np.ndarray, np.ndarray]:
        batch = self._queue.popleft().result()
        self._submit()
        return batch

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


PACK_SUFFIX = ".npz"


def is_pack(path: Path) -> bool:
    """Whether ``path`` names a file of packed pairs (see :func:`pack_pairs`)."""
    return path.suffix == PACK_SUFFIX and path.is_file()


def pack_pairs(pairs: Sequence[Pair], output: Path) -> int:
    """Write ``pairs`` into one ``.npz`` (atomically) that :func:`read_pack` reads back fast.

    Pages are stored as uint8 (``noisy/NAME``, ``clean/NAME``), pure black-and-white targets as
    bits (``clean/NAME`` packed, ``shape/NAME``). Returns the file's size in bytes.
    """
    from docclean.evaluation.metrics import is_bilevel
    from docclean.io.atomic import atomic_path
    from docclean.io.images import to_uint8

    arrays: dict[str, np.ndarray] = {}
    for pair in pairs:
        arrays[f"noisy/{pair.name}"] = to_uint8(pair.noisy)
        if is_bilevel(pair.clean):
            white = pair.clean >= 0.5
            arrays[f"clean/{pair.name}"] = np.packbits(white, axis=-1)
            arrays[f"shape/{pair.name}"] = np.array(white.shape)
        else:
            arrays[f"clean/{pair.name}"] = to_uint8(pair.clean)
    with atomic_path(output, suffix=PACK_SUFFIX) as tmp:
        np.savez_compressed(tmp, allow_pickle=False, **arrays)
        size = tmp.stat().st_size
    return size


def read_pack(path: Path) -> list[Pair]:
    """The pairs of a pack written by :func:`pack_pairs`, by name, as float32 pages in [0, 1]."""
    try:
        packed = np.load(path, allow_pickle=False)
        pairs = []
        for key in sorted(packed.files):
            if not key.startswith("noisy/"):
                continue
            name = key[len("noisy/") :]
            noisy = packed[key].astype(np.float32) / 255
            clean = packed[f"clean/{name}"]
            if f"shape/{name}" in packed.files:
                h, w = (int(v) for v in packed[f"shape/{name}"])
                bits = np.unpackbits(clean, axis=-1)[:, :w]
                clean = bits.reshape(h, w).astype(np.float32)
            else:
                clean = clean.astype(np.float32) / 255
            if noisy.shape != clean.shape:
                raise ValueError(f"{name}: noisy and clean sizes differ")
            pairs.append(Pair(name, noisy, clean))
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(
            f"{path}: not a pack of page pairs ({exc})", "make one with `docclean train --pack`"
        ) from None
    if not pairs:
        raise DataError(f"{path}: the pack holds no page pairs")
    return pairs


def grid_patches(pairs: Sequence[Pair], patch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Every page cut into a grid of ``patch_size`` squares (edges reflected): a fixed validation set."""
    from docclean.inference.tiling import TileConfig, iter_batches

    config = TileConfig(tile_size=patch_size, margin=0, batch_size=1)
    noisy: list[np.ndarray] = []
    clean: list[np.ndarray] = []
    for pair in pairs:
        noisy += [b[0] for b, _ in iter_batches(pair.noisy, config)]
        clean += [b[0] for b, _ in iter_batches(pair.clean, config)]
    return np.stack(noisy)[..., np.newaxis], np.stack(clean)[..., np.newaxis]


def steps_for_one_pass(pixels: int, patch_size: int, batch_size: int) -> int:
    """Batches that sample about as many pixels as the training pages hold (at least 10)."""
    return max(10, math.ceil(pixels / (patch_size * patch_size * batch_size)))


def _at_least(page: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pad a page that is smaller than ``size`` in either dimension."""
    h, w = page.shape
    if h >= size and w >= size:
        return page
    return np.pad(page, ((0, max(0, size - h)), (0, max(0, size - w))), mode="symmetric")
