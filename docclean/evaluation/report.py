"""Score models and classic baselines side by side on paired pages; tables, JSON, CSV, contact sheets.

Grayscale targets are scored with RMSE, PSNR and SSIM; bilevel targets (only pure black and white,
as in DIBCO) with FM, pseudo-FM, PSNR and DRD after thresholding each output at 0.5. With OCR on,
every method also gets the character error rate of tesseract's reading of its output against the
reading of the target, or against ``NAME.txt`` beside the target when there is one.

A page that cannot be scored (unreadable, a size that differs from its target's, pixels or outputs
that are not finite numbers) is named in ``failed`` and the others are scored. Scores that are not
finite (the PSNR of an output equal to its target) are ``null`` in JSON, empty in CSV and ``-`` in
the table. The CSV file and the contact sheet never replace an input, nor, unless asked to, any
file: not even one that appears while the pages are being scored.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from docclean.errors import (
    DataError,
    DocCleanError,
    ExitCode,
    InputError,
    ModelError,
    OutputError,
)
from docclean.evaluation import baselines as baselines
from docclean.evaluation import metrics
from docclean.inference.cleaner import PageCleaner
from docclean.io.images import read_image
from docclean.progress import Reporter
from docclean.training.data import PairPaths

REPORT_SCHEMA = 1
GRAY_METRICS = ("rmse", "rmse_pooled", "psnr", "ssim")
BILEVEL_METRICS = ("fm", "pfm", "psnr", "drd")
LOWER_IS_BETTER = frozenset({"rmse", "rmse_pooled", "drd", "cer"})


@dataclass
class EvalOptions:
    """What to run besides the models, and what to draw."""

    baselines: bool = False
    ocr: bool = False
    contact_sheet: Path | None = None
    sheet_pages: int = 6
    methods: list[str] = field(default_factory=list)
    overwrite: bool = False


@dataclass
class Evaluation:
    """The report (see README "evaluate --json") and the exit code its failures call for."""

    report: dict[str, Any]
    exit_code: ExitCode = ExitCode.OK


def evaluate_pairs(
    pairs: Sequence[PairPaths],
    cleaners: Sequence[PageCleaner],
    reporter: Reporter,
    options: EvalOptions | None = None,
) -> dict[str, Any]:
    """Run every method on every pair and score it; see README "evaluate --json" for the layout."""
    return evaluate(pairs, cleaners, reporter, options).report


def evaluate(
    pairs: Sequence[PairPaths],
    cleaners: Sequence[PageCleaner],
    reporter: Reporter,
    options: EvalOptions | None = None,
) -> Evaluation:
    """:func:`evaluate_pairs`, with the exit code: the highest of its failures' (a page that cannot
    be read 1, a model giving NaN 3, a pair of different sizes 4, a contact sheet not written 5)."""
    options = options or EvalOptions()
    notes: list[str] = []
    methods: dict[str, baselines.Method] = {"no_cleaning": baselines.no_cleaning}
    model_names: list[str] = []
    for cleaner in cleaners:
        name = cleaner.loaded.name
        for k in range(2, len(cleaners) + 2):  # two models of one name stay apart
            if name not in methods:
                break
            name = f"{cleaner.loaded.name}#{k}"
        methods[name] = cleaner.clean
        model_names.append(name)
    if options.baselines:
        for name, method in baselines.BASELINES.items():
            if name == "unpaper" and not baselines.unpaper_available():
                notes.append("unpaper is not installed (apt-get install unpaper): left out")
                continue
            methods[name] = method
    ocr = options.ocr
    if ocr:
        from docclean.evaluation.ocr import tesseract_available

        if not tesseract_available():
            notes.append(
                "tesseract is not installed (apt-get install tesseract-ocr): no OCR scores"
            )
            ocr = False
    for note in notes:
        reporter.warn(note)

    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    codes = [ExitCode.OK]
    sheet: list[tuple[str, list[np.ndarray], str]] = []
    shown = model_names or ["no_cleaning"]
    with reporter.bar("evaluating", len(pairs)) as bar:
        for pair in pairs:
            try:
                row, outputs = _score_pair(pair, methods, ocr, set(model_names))
            except DocCleanError as exc:
                failed.append(str(exc))
                codes.append(exc.exit_code)
                reporter.error(str(exc))
            else:
                rows.append(row)
                if options.contact_sheet and len(sheet) < options.sheet_pages:
                    sheet.append(_sheet_row(row, outputs, shown))
            bar.advance()
    if options.contact_sheet is not None and sheet:
        try:
            draw_contact_sheet(sheet, options.contact_sheet, shown, overwrite=options.overwrite)
        except OutputError as exc:
            codes.append(exc.exit_code)
            reporter.error(str(exc))
    if any(_not_finite(r["scores"]) for r in rows):
        notes.append(
            "some scores are not finite numbers (PSNR is infinite where an output equals its "
            "target): null in JSON, empty in CSV, - in tables"
        )
    report = {
        "schema": REPORT_SCHEMA,
        "methods": list(methods),
        "models": {
            name: {"path": str(c.loaded.path), "sha256": c.loaded.card.sha256}
            for name, c in zip(model_names, cleaners, strict=True)
        },
        "pages": rows,
        "mean": _means(rows, list(methods)),
        "failed": failed,
        "notes": notes,
    }
    return Evaluation(report, max(codes))


def _not_finite(value: Any) -> bool:
    """Whether a number anywhere in ``value`` (nested dicts and lists) is NaN or infinite."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_not_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_not_finite(v) for v in value)
    return False


def finite_or_none(value: Any) -> Any:
    """``value`` with every NaN or infinite float (nested dicts and lists) turned into None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    return value


def report_json(report: dict[str, Any]) -> str:
    """The report as strict JSON (no NaN or Infinity, which strict parsers reject): null instead."""
    return json.dumps(finite_or_none(report), indent=2, allow_nan=False)


def _read_finite(path: Path) -> np.ndarray:
    pixels = read_image(path).pixels
    if not np.isfinite(pixels).all():
        raise InputError(path, "holds pixel values that are not finite numbers (NaN or infinity)")
    return pixels


def _score_pair(
    pair: PairPaths, methods: dict[str, baselines.Method], ocr: bool, models: set[str]
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    noisy = _read_finite(pair.noisy)
    target = _read_finite(pair.clean)
    if noisy.shape != target.shape:
        raise DataError(
            f"{pair.noisy}: size {noisy.shape[1]}x{noisy.shape[0]} differs from its target's "
            f"{target.shape[1]}x{target.shape[0]} ({pair.clean})"
        )
    kind = "bilevel" if metrics.is_bilevel(target) else "gray"
    score = metrics.bilevel_scores if kind == "bilevel" else metrics.gray_scores
    reference = _reference_text(pair.clean, target) if ocr else None
    scores: dict[str, dict[str, float]] = {}
    seconds: dict[str, float] = {}
    outputs: dict[str, np.ndarray] = {"target": target}
    for name, method in methods.items():
        started = time.perf_counter()
        output = method(noisy)
        seconds[name] = round(time.perf_counter() - started, 4)
        if not np.isfinite(output).all():
            cause = f"{name} gave pixel values that are not finite numbers (NaN or infinity)"
            if name in models:
                raise ModelError(f"{pair.noisy}: {cause}")
            raise InputError(pair.noisy, cause)
        scores[name] = {k: round(v, 5) for k, v in score(output, target).items()}
        if reference is not None:
            from docclean.evaluation.ocr import ocr_text

            scores[name]["cer"] = round(
                metrics.character_error_rate(ocr_text(output), reference), 5
            )
        outputs[name] = output
    row = {
        "name": pair.name,
        "width": int(noisy.shape[1]),
        "height": int(noisy.shape[0]),
        "target": kind,
        "scores": scores,
        "seconds": seconds,
    }
    return row, outputs


def _reference_text(target_path: Path, target: np.ndarray) -> str:
    text_file = target_path.with_suffix(".txt")
    if text_file.is_file():
        return text_file.read_text(encoding="utf-8", errors="replace")
    from docclean.evaluation.ocr import ocr_text

    return ocr_text(target)


def _means(
    rows: list[dict[str, Any]], methods: list[str]
) -> dict[str, dict[str, dict[str, float]]]:
    """Mean of each metric per target kind and method (non-finite values left out); gray targets
    also get ``rmse_pooled``, the RMSE over all their pixels together."""
    means: dict[str, dict[str, dict[str, float]]] = {}
    for kind in ("gray", "bilevel"):
        subset = [r for r in rows if r["target"] == kind]
        if not subset:
            continue
        means[kind] = {}
        for method in methods:
            keys = subset[0]["scores"][method].keys()
            means[kind][method] = {}
            for key in keys:
                values = [r["scores"][method][key] for r in subset]
                finite = [v for v in values if math.isfinite(v)]
                means[kind][method][key] = round(float(np.mean(finite)), 5) if finite else math.nan
            if kind == "gray":  # over all pixels at once, as the Kaggle competition scored
                pixels = np.array([r["width"] * r["height"] for r in subset], dtype=np.float64)
                squared = np.array([r["scores"][method]["rmse"] ** 2 for r in subset])
                pooled = math.sqrt(float((pixels * squared).sum() / pixels.sum()))
                means[kind][method]["rmse_pooled"] = round(pooled, 5)
            means[kind][method]["seconds"] = round(
                float(np.mean([r["seconds"][method] for r in subset])), 4
            )
    return means


def render_table(report: dict[str, Any], console: Console | None = None) -> None:
    """Per-page rows (main metric per method) and a table of means, per target kind, on stdout."""
    console = console or Console()
    methods = report["methods"]
    for kind, means in report["mean"].items():
        main = "rmse" if kind == "gray" else "fm"
        pages = [r for r in report["pages"] if r["target"] == kind]
        table = Table(title=f"{main.upper()} per page ({kind} targets)")
        table.add_column("page")
        for method in methods:
            table.add_column(method, justify="right")
        for row in pages:
            table.add_row(row["name"], *[_fmt(main, row["scores"][m][main]) for m in methods])
        console.print(table)
        names = [*(GRAY_METRICS if kind == "gray" else BILEVEL_METRICS)]
        if any("cer" in means[m] for m in methods):
            names.append("cer")
        summary = Table(title=f"mean over {len(pages)} page(s) ({kind} targets)")
        summary.add_column("method")
        for name in [*names, "seconds"]:
            arrow = "" if name == "seconds" else (" ↓" if name in LOWER_IS_BETTER else " ↑")
            summary.add_column(name.upper() + arrow, justify="right")
        for method in methods:
            summary.add_row(
                method, *[_fmt(n, means[method].get(n, math.nan)) for n in [*names, "seconds"]]
            )
        console.print(summary)
    for note in report["notes"]:
        console.print(f"note: {note}")
    if report["failed"]:
        console.print(f"{len(report['failed'])} page(s) could not be scored (see stderr)")


def _fmt(metric: str, value: float) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:.2f}" if metric in ("psnr", "fm", "pfm", "drd") else f"{value:.4f}"


CSV_COLUMNS = (
    "page",
    "target",
    "method",
    "rmse",
    "psnr",
    "ssim",
    "fm",
    "pfm",
    "drd",
    "cer",
    "seconds",
)


def report_csv(report: dict[str, Any]) -> str:
    """One CSV row per page and method; metrics that do not apply are empty."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in report["pages"]:
        for method in report["methods"]:
            writer.writerow(
                {
                    "page": row["name"],
                    "target": row["target"],
                    "method": method,
                    **{k: v if math.isfinite(v) else "" for k, v in row["scores"][method].items()},
                    "seconds": row["seconds"][method],
                }
            )
    return buffer.getvalue()


SHEET_WIDTH = 420


def _sheet_row(
    row: dict[str, Any], outputs: dict[str, np.ndarray], shown: Sequence[str]
) -> tuple[str, list[np.ndarray], str]:
    """Small copies of noisy | each model's output | target | error of the first, and a caption."""
    from skimage.transform import resize

    target = outputs["target"]
    error = 1.0 - np.abs(outputs[shown[0]] - target)
    scale = SHEET_WIDTH / target.shape[1]
    size = (max(1, round(target.shape[0] * scale)), SHEET_WIDTH)
    panels = [
        resize(p, size, anti_aliasing=True, preserve_range=True).astype(np.float32)
        for p in (outputs["no_cleaning"], *(outputs[m] for m in shown), target, error)
    ]
    main = "rmse" if row["target"] == "gray" else "fm"
    before = row["scores"]["no_cleaning"][main]
    after = ", ".join(f"{_fmt(main, row['scores'][m][main])} {m}" for m in shown)
    caption = f"{row['name']}: {main.upper()} {_fmt(main, before)} noisy -> {after}"
    return row["name"], panels, caption


def draw_contact_sheet(
    rows: list[tuple[str, list[np.ndarray], str]],
    path: Path,
    shown: str | Sequence[str],
    overwrite: bool = False,
) -> None:
    """noisy | each model's output | target | 1 - |error| of the first model, one row per page,
    captioned with its figures, each column titled; a PNG placed as :func:`write_output` does."""
    from PIL import Image, ImageDraw, ImageFont

    from docclean.io.images import to_uint8

    models = [shown] if isinstance(shown, str) else list(shown)
    error_title = f"1 - |error| {models[0]}" if len(models) > 1 else "1 - |error|"
    titles = ["noisy", *models, "target", error_title]
    gap, caption_h, header_h = 8, 22, 24
    width = len(titles) * SHEET_WIDTH + (len(titles) + 1) * gap
    height = header_h + sum(caption_h + p[0].shape[0] + gap for _, p, _ in rows)
    sheet = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=15)
    for k, title in enumerate(titles):
        draw.text((gap + k * (SHEET_WIDTH + gap), 4), title, fill=0, font=font)
    y = header_h
    for _, panels, caption in rows:
        draw.text((gap, y + 2), caption, fill=0, font=font)
        y += caption_h
        for k, panel in enumerate(panels):
            sheet.paste(Image.fromarray(to_uint8(panel)), (gap + k * (SHEET_WIDTH + gap), y))
        y += panels[0].shape[0] + gap
    encoded = io.BytesIO()
    sheet.save(encoded, format="PNG", optimize=False)
    write_output(path, encoded.getvalue(), overwrite=overwrite)


def check_output_path(
    path: Path, overwrite: bool, input_files: Iterable[Path], input_folders: Iterable[Path]
) -> None:
    """Refuse, before any work, an output that is an input or lies in an input folder (even with
    ``overwrite``), or that exists already (without it); :class:`OutputError` (exit 5)."""
    resolved = path.resolve()
    if resolved.is_dir():
        raise OutputError(f"{path}: is a folder; name a file")
    for folder in input_folders:
        if resolved.is_relative_to(Path(folder).resolve()):
            raise OutputError(f"{path}: lies in the input folder {folder}; write it elsewhere")
    for source in input_files:
        with contextlib.suppress(OSError):
            if resolved.exists() and os.path.samefile(resolved, source):
                raise OutputError(f"{path}: is an input ({source}); write it elsewhere")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise OutputError(f"{path}: exists already (--overwrite replaces it)")
    parent = resolved.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot write in {parent}")


def write_output(path: Path, data: bytes, overwrite: bool = False) -> None:
    """Write ``data`` to ``path`` atomically; without ``overwrite`` never over a file, even one
    that appeared a moment ago (exclusive placement, see :func:`docclean.io.atomic.atomic_path`).
    Failures are :class:`OutputError`."""
    from docclean.io.atomic import TargetExistsError, atomic_path

    path = Path(path)
    try:
        with atomic_path(path, overwrite=overwrite) as tmp:
            tmp.write_bytes(data)
    except TargetExistsError:
        raise OutputError(
            f"{path}: appeared while docclean was working; left alone (--overwrite replaces it)"
        ) from None
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
