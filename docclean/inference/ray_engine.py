"""Clean on Ray Data (``docclean clean --engine ray``): pages spread over processes and machines.

:class:`RayCleanJob` is a :class:`~docclean.inference.batch.CleanJob` whose pages are decoded and
cleaned by Ray; everything else is the local runner's own code, in the calling process: planning
(resume by skipping finished outputs, collisions refused, bad files named before any model
loads), the per-page records, multi-page files' partial stores, the atomic writers, the summary and
so the exit codes. The pipeline is::

    one row per planned file (index, path, first page)
      -> map_batches(decode_files)          tasks: docclean's readers (DPI, every TIFF/PDF page),
                                            one row per page, then an end or error row per file
      -> map_batches(PageCleanerActor)      actors: the model loaded once each; one GPU per actor
                                            when the cluster has GPUs, CPU actors otherwise
      -> iter_rows() in input order         the caller: pages reassembled and written

Ray Data keeps the rows in input order (``preserve_order``), so a file's pages come back in
order and the local runner's state machine takes them as its own reader's. Ray is imported only
here and only when this engine runs (``pip install 'docclean[ray]'``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import re
import signal
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from docclean import errors
from docclean.backend import Device
from docclean.errors import DocCleanError, InputError, UsageError
from docclean.inference.batch import CleanJob, PageSource, _Planned, read_file_entries
from docclean.io.images import PageImage

INSTALL_HINT = "install it with `pip install 'docclean[ray]'` (or `pip install '.[ray]'`)"
CPUS_PER_ACTOR = 4
"""CPU threads one cleaning actor gives TensorFlow on a CPU cluster (small convolutions gain
little from more; several actors use a big node better)."""
DECODE_MEMORY = 512 * 2**20
"""Memory a decoding task asks Ray for next to GPU actors (an A4 page at 300 dpi is 35 MB as
float32; a PDF page is rendered before it is converted)."""
_PAGE, _CLEAN_FAILED, _READ_FAILED, _END = "page", "clean-failed", "read-failed", "end"


def import_ray() -> ModuleType:
    """Ray with Ray Data, or a UsageError saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise UsageError(f"--engine ray needs Ray Data ({exc})", INSTALL_HINT) from None
    return ray


@dataclass(frozen=True)
class CleanerSpec:
    """What an actor needs to build the page cleaner (the CLI's, so outputs are the same)."""

    model: str | None = None
    tile_size: int | None = None
    batch_size: int | None = None
    device: Device = "auto"
    binarize: bool = False
    mixed_precision: bool = False

    def resolved(self) -> CleanerSpec:
        """The model checked here (found, card valid, sha256 right; no TensorFlow), so that a bad
        model fails before Ray starts (exit 3); a shipped model named, others by absolute path."""
        from docclean.models.store import DEFAULT_BINARIZE_MODEL, resolve_model, sha256_of
        from docclean.models.store import read_card as card_of

        name = self.model
        if name is None and self.binarize:
            name = DEFAULT_BINARIZE_MODEL
        path = resolve_model(name)
        if sha256_of(path) != card_of(path).sha256:
            from docclean.models.store import load_model

            load_model(path)  # raises its ModelError before TensorFlow loads
        from docclean.models.store import shipped_models

        shipped = shipped_models()  # a shipped model keeps its name: it lies elsewhere on workers
        named = next((n for n, p in shipped.items() if p == path), None)
        return CleanerSpec(
            named or os.path.abspath(path),
            self.tile_size,
            self.batch_size,
            self.device,
            self.binarize,
            self.mixed_precision,
        )

    def build(self, threads: int | None = None) -> Any:
        """A :class:`~docclean.inference.cleaner.PageCleaner` (TensorFlow limited to
        ``threads`` CPU threads when given)."""
        from docclean.backend import tensorflow
        from docclean.inference.cleaner import PageCleaner
        from docclean.models.store import load_model

        tf = tensorflow(self.device)
        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        return PageCleaner(
            load_model(self.model),
            tile_size=self.tile_size,
            batch_size=self.batch_size,
            device=self.device,
            binarize=self.binarize,
            mixed_precision=self.mixed_precision,
        )


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide to run: ``address`` joins a cluster (None: an embedded local Ray with
    ``num_cpus``, default all local cores); ``actors`` cleaning actors (default one per GPU, or
    one per :data:`CPUS_PER_ACTOR` CPUs); ``decode_blocks`` how many groups the file list is cut
    into for the decoding tasks (default 4 per CPU)."""

    address: str | None = None
    num_cpus: int | None = None
    actors: int | None = None
    decode_blocks: int | None = None


@dataclass(frozen=True)
class CleanedPage(PageImage):
    """A page as cleaned by an actor: ``pixels`` are the cleaned ones."""

    seconds: float = 0.0
    error: DocCleanError | None = None


class _RemoteError(InputError):
    """An error raised on a Ray worker, rebuilt here with the same message and hint."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        DocCleanError.__init__(self, message, hint)


def _error_payload(exc: DocCleanError) -> bytes:
    return pickle.dumps((exc.message, exc.hint))


def _error_from(payload: bytes) -> DocCleanError:
    message, hint = pickle.loads(payload)
    return _RemoteError(message, hint)


def _rows(file: int, kind: str, payload: bytes) -> dict[str, np.ndarray]:
    return {
        "file": np.array([file], dtype=np.int64),
        "kind": np.array([kind], dtype=object),
        "payload": np.array([payload], dtype=object),
    }


def decode_files(batch: dict[str, np.ndarray], pdf_dpi: float | None) -> Iterator[dict]:
    """Ray task: each file's pages decoded by docclean's readers, one row per page (pickled
    :class:`PageImage`), then an end row, or an error row where reading failed."""
    for file, path, start in zip(batch["file"], batch["path"], batch["start"], strict=True):
        source = Path(os.fsdecode(bytes(path)))
        for entry in read_file_entries(source, pdf_dpi, int(start)):
            if isinstance(entry, PageImage):
                yield _rows(int(file), _PAGE, pickle.dumps(entry, protocol=5))
            elif entry is None:
                yield _rows(int(file), _END, b"")
            else:
                yield _rows(int(file), _READ_FAILED, _error_payload(entry))


class PageCleanerActor:
    """Ray actor: the model loaded once, then each page row cleaned (other rows pass through)."""

    def __init__(self, spec: CleanerSpec, threads: int | None = None) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        self.cleaner = spec.build(threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import time

        kinds, payloads = list(batch["kind"]), list(batch["payload"])
        for i, kind in enumerate(kinds):
            if kind != _PAGE:
                continue
            page: PageImage = pickle.loads(payloads[i])
            started = time.perf_counter()
            try:
                cleaned = self.cleaner.clean(page.pixels)
            except DocCleanError as exc:
                kinds[i], payloads[i] = _CLEAN_FAILED, _error_payload(exc)
                continue
            seconds = time.perf_counter() - started
            payloads[i] = pickle.dumps((cleaned, page.dpi, page.index, seconds), protocol=5)
        return {
            "file": batch["file"],
            "kind": np.array(kinds, dtype=object),
            "payload": np.array(payloads, dtype=object),
        }


@dataclass
class RayCleanJob(CleanJob):
    """A :class:`CleanJob` whose pages are decoded and cleaned on Ray (see the module's
    docstring); ``cleaner`` says how actors build the model, ``ray`` where to run."""

    cleaner: CleanerSpec = field(default_factory=CleanerSpec)
    ray: RayOptions = field(default_factory=RayOptions)
    layout: str = ""
    """After the run started: how many actors on what (for the CLI's message)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.clean_page is None:
            self.clean_page = _cleaned_already  # the pages come cleaned (see _cleaned)
        self.pages_at_once = 1  # the actors clean them, each page on its own

    def _page_source(self, todo: list[_Planned]) -> PageSource:
        return _RaySource(self, todo)

    def _cleaned(self, page: PageImage) -> tuple[np.ndarray, float]:
        if not isinstance(page, CleanedPage):  # pragma: no cover - only _RaySource feeds this
            return super()._cleaned(page)
        if page.error is not None:
            raise page.error
        return page.pixels, page.seconds


def _cleaned_already(pixels: np.ndarray) -> np.ndarray:
    return pixels


def start_ray(options: RayOptions) -> tuple[ModuleType, bool]:
    """Ray, started here unless it already runs in this process (then it is left running):
    joined to ``options.address``, or an embedded local Ray on all cores, quiet, without a
    dashboard. Returns (ray, whether this call started it). SIGINT and SIGTERM handlers are
    kept as they were (the caller's stop-between-pages handling)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "logging_level": logging.ERROR,
        "log_to_driver": False,
        "configure_logging": True,
    }
    try:
        if options.address:
            ray.init(address=options.address, **kwargs)
        else:
            ray.init(num_cpus=options.num_cpus or os.cpu_count() or 1, **kwargs)
    except Exception as exc:
        where = f"the Ray cluster at {options.address}" if options.address else "a local Ray"
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise UsageError(f"cannot start {where}: {type(exc).__name__}: {first}") from None
    finally:
        for sig, handler in handlers.items():
            with contextlib.suppress(ValueError, TypeError):  # not the main thread, or C's
                signal.signal(sig, handler)
    logging.getLogger("ray").setLevel(logging.ERROR)
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # its failures reach us as errors
    return ray, True


def actor_layout(
    resources: dict[str, float], device: Device, actors: int | None
) -> tuple[int, dict[str, Any], int | None, str]:
    """(actors, their Ray resources, TensorFlow threads each, a description) for a cluster with
    ``resources``: one GPU per actor where there are GPUs (unless ``device`` is cpu), else CPU
    actors of :data:`CPUS_PER_ACTOR` threads that leave a CPU for decoding."""
    gpus = int(resources.get("GPU", 0))
    cpus = max(1, int(resources.get("CPU", 1)))
    if device == "gpu" and gpus == 0:
        raise UsageError(
            "--device gpu was asked for, but the Ray cluster has no GPU",
            "join a cluster with GPUs (--ray-address) or use --device auto",
        )
    if gpus and device != "cpu":
        count = actors or gpus
        return count, {"num_gpus": 1, "num_cpus": 1}, None, f"{count} GPU actor(s)"
    threads = min(CPUS_PER_ACTOR, cpus)
    count = actors or max(1, (cpus - 1) // threads)
    reserved = float(max(1, min(threads, cpus - 1)))
    return count, {"num_cpus": reserved}, threads, f"{count} CPU actor(s) of {threads} threads"


class _RaySource:
    """The Ray pipeline's rows as the local runner's page source: ``(file index, entry)``."""

    def __init__(self, job: RayCleanJob, todo: list[_Planned]) -> None:
        self._ray, self._started = start_ray(job.ray)
        self._embedded = self._started and not job.ray.address
        self._job = job
        self._rows: Any = None
        try:
            self._rows = iter(self._dataset(job, todo).iter_rows())
        except BaseException:
            self.close()
            raise

    def _dataset(self, job: RayCleanJob, todo: list[_Planned]) -> Any:
        ray = self._ray
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        context.enable_auto_log_stats = False
        detectors = getattr(context, "issue_detectors_config", None)
        if detectors is not None:  # its advice (e.g. set memory=) would be noise on stderr
            detectors.detectors = []
        resources = ray.cluster_resources()
        count, remote, threads, described = actor_layout(
            resources, job.cleaner.device, job.ray.actors
        )
        restarts: dict[str, Any] = {}
        if self._embedded:  # one machine: a dead actor is a bug or no memory, not a lost node
            restarts["max_restarts"] = 0  # (also spares stderr Ray's note on restarting them)
        device = job.cleaner.device if remote.get("num_gpus") else "cpu"
        spec = CleanerSpec(**{**job.cleaner.__dict__, "device": device})
        cpus = max(1, int(resources.get("CPU", 1)))
        job.layout = f"Ray ({cpus} CPU(s), {int(resources.get('GPU', 0))} GPU(s); {described})"
        files = [
            {"file": i, "path": os.fsencode(planned.item.path), "start": planned.start}
            for i, planned in enumerate(todo)
        ]
        blocks = min(len(files), job.ray.decode_blocks or 4 * cpus)
        # GPU actors: decoding in CPU tasks, overlapped with inference (a memory request keeps
        # Ray from fusing the two stages into the actor). CPU actors decode their own pages:
        # the cores are busy cleaning anyway, and no decoded page crosses the object store.
        decoding = {"num_cpus": 1, **({"memory": DECODE_MEMORY} if remote.get("num_gpus") else {})}
        with warnings.catch_warnings():  # max_restarts has no named parameter yet
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*")
            stages = (
                ray.data.from_items(files, override_num_blocks=max(1, blocks))
                .map_batches(
                    decode_files,
                    batch_size=1,
                    batch_format="numpy",
                    fn_kwargs={"pdf_dpi": job.dpi},
                    **decoding,
                )
                .map_batches(
                    PageCleanerActor,
                    batch_size=1,
                    batch_format="numpy",
                    fn_constructor_kwargs={"spec": spec, "threads": threads},
                    compute=ray.data.ActorPoolStrategy(size=count),
                    **remote,
                    **restarts,
                )
            )
        return stages

    def __iter__(self) -> Iterator[tuple[int, PageImage | DocCleanError | None]]:
        try:
            for row in self._rows:
                file, kind, payload = int(row["file"]), row["kind"], row["payload"]
                if kind == _PAGE:
                    cleaned, dpi, index, seconds = pickle.loads(payload)
                    yield file, CleanedPage(cleaned, dpi, index, seconds)
                elif kind == _CLEAN_FAILED:
                    yield file, CleanedPage(np.zeros((0, 0)), None, -1, error=_error_from(payload))
                elif kind == _READ_FAILED:
                    yield file, _error_from(payload)
                else:
                    yield file, None
        except DocCleanError:
            raise
        except Exception as exc:
            if self._job.stop.is_set():  # Ctrl-C reached Ray's workers too: the run was stopping
                self._job.summary.interrupted = True
                return
            raise _unwrapped(exc) from None

    def close(self) -> None:
        rows, self._rows = self._rows, None
        close = getattr(rows, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):  # shutting down a stopped pipeline
                close()
        if self._started:
            self._started = False
            self._ray.shutdown()


def _unwrapped(exc: BaseException) -> BaseException:
    """A docclean error raised on a worker (an actor that could not load its model, say) as
    itself; any other Ray failure as a DocCleanError naming it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DocCleanError):
            return current
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__
    text = str(exc)
    raised = re.findall(r"docclean\.errors\.(\w+): (.+)", text)  # a worker's, in Ray's report
    if raised:
        name, message = raised[-1]
        kind = getattr(errors, name, None)
        if isinstance(kind, type) and issubclass(kind, DocCleanError):
            rebuilt = kind.__new__(kind)
            DocCleanError.__init__(rebuilt, message.strip())
            return rebuilt
    first = (text.strip().splitlines() or [""])[0][:300]
    return DocCleanError(f"the Ray pipeline failed: {type(exc).__name__}: {first}")
