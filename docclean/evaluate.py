"""Score a model against "no cleaning" on paired pages, and show the result as a table or JSON."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from docclean.data import PairPaths
from docclean.errors import DocCleanError
from docclean.imageio import read_image
from docclean.inference import PageCleaner
from docclean.metrics import gray_scores, mean_scores
from docclean.progress import Reporter

METHODS = ("no_cleaning", "model")


def evaluate_pairs(
    pairs: Sequence[PairPaths], cleaner: PageCleaner, reporter: Reporter
) -> dict[str, Any]:
    """Per-page and mean RMSE/PSNR/SSIM for the model and for the noisy page as it is.

    Returns ``{"model": name, "model_path", "pages": [...], "mean": {method: scores}, "failed": [...]}``.
    Unreadable pages and size mismatches are listed under ``failed`` and left out of the means.
    """
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    with reporter.bar("evaluating", len(pairs)) as bar:
        for pair in pairs:
            try:
                noisy = read_image(pair.noisy).pixels
                target = read_image(pair.clean).pixels
            except DocCleanError as exc:
                failed.append(str(exc))
                reporter.error(str(exc))
                bar.advance()
                continue
            if noisy.shape != target.shape:
                failed.append(f"{pair.noisy}: size differs from {pair.clean}")
                reporter.error(failed[-1])
                bar.advance()
                continue
            started = time.perf_counter()
            cleaned = cleaner.clean(noisy)
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "name": pair.name,
                    "width": int(noisy.shape[1]),
                    "height": int(noisy.shape[0]),
                    "seconds": round(seconds, 4),
                    "no_cleaning": _rounded(gray_scores(noisy, target)),
                    "model": _rounded(gray_scores(cleaned, target)),
                }
            )
            bar.advance()
    return {
        "model": cleaner.loaded.name,
        "model_path": str(cleaner.loaded.path),
        "metrics": ["rmse", "psnr", "ssim"],
        "pages": rows,
        "mean": {m: _rounded(mean_scores([r[m] for r in rows])) for m in METHODS} if rows else {},
        "failed": failed,
    }


def render_table(report: dict[str, Any], console: Console | None = None) -> None:
    """Per-page rows and the mean, model beside no cleaning, on stdout."""
    console = console or Console()
    table = Table(title=f"{report['model']} vs no cleaning", show_footer=bool(report["pages"]))
    mean = report["mean"]
    table.add_column("page", footer="mean")
    for method in METHODS:
        for metric, fmt in (("rmse", ".4f"), ("psnr", ".2f"), ("ssim", ".4f")):
            label = f"{metric.upper()} {'model' if method == 'model' else 'noisy'}"
            footer = format(mean[method][metric], fmt) if mean else ""
            table.add_column(label, justify="right", footer=footer)
    for row in report["pages"]:
        cells = [row["name"]]
        for method in METHODS:
            cells += [
                f"{row[method]['rmse']:.4f}",
                f"{row[method]['psnr']:.2f}",
                f"{row[method]['ssim']:.4f}",
            ]
        table.add_row(*cells)
    console.print(table)
    if report["failed"]:
        console.print(f"{len(report['failed'])} page(s) could not be scored (see stderr)")


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 5) for k, v in scores.items()}
