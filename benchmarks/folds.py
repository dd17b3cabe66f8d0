"""Fold figures: a recipe trained and scored once per fold, or a model scored on every fold.

    python benchmarks/folds.py --task binarization --recipe "--arch fast-unet --loss bce" [--epochs 3]
                               [--steps 200] [--folds dibco-2009,bickley] [--json]
    python benchmarks/folds.py --task binarization --model dibco-fast-unet [--json]
                               [--folds bickley,phibd,msi --card models/dibco-fast-unet.keras]
    python benchmarks/folds.py --task office --baselines-only

Folds, from ../shared/data (``--data``):
  - binarization: each DIBCO year (dibco/20XX) and each extra set (more-binarization/bickley,
    phibd, msi) left out in turn: train on all the others, score on the one left out;
  - office: NoisyOffice both ways, TR->VA and VA->TR (noisyoffice/manifest.csv gives the split).

``--recipe`` trains one model per fold with ``docclean train`` (the recipe's flags appended; ``--steps``
and ``--epochs`` override them for short runs) on the fold's training pages, staged as symlinks
under runs/folds/NAME/FOLD/, and scores it with ``docclean evaluate --json`` on the held-out pages.
``--model`` only scores an existing model on every fold's held-out pages: a validation figure only
on pages the model never saw (its card's training and validation pages are checked, a warning
printed, such folds marked "saw" or "validated on"); ``--card MODEL.keras`` then writes the folds
it never trained on into that model's card (the scored model's, or the one it is the twin of).
Beside each model, every fold gets "no cleaning", Otsu and Sauvola. Bilevel targets are scored
with FM, p-FM, PSNR and DRD; gray ones with RMSE (mean of pages, and pooled over all pixels as
``docclean evaluate``'s rmse_pooled), PSNR and SSIM. The mean is over folds (each fold
counts once, whatever its size).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import math
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
RUNS = REPO / "runs" / "folds"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
EXTRA_SETS = ("bickley", "phibd", "msi")
BILEVEL_METRICS = ("fm", "pfm", "psnr", "drd")
GRAY_METRICS = ("rmse", "rmse_pooled", "psnr", "ssim")
BASELINES = ("otsu", "sauvola")


@dataclass(frozen=True)
class PagePair:
    """One noisy page and its target; ``group`` is the set or split it belongs to."""

    name: str
    noisy: Path
    clean: Path
    group: str


@dataclass(frozen=True)
class Fold:
    """Train on ``train``, score on ``test`` (no page in both)."""

    name: str
    task: str
    train: tuple[PagePair, ...]
    test: tuple[PagePair, ...]


# --- planning -------------------------------------------------------------------------------


def _paired_folder(noisy_dir: Path, clean_dir: Path, group: str) -> list[PagePair]:
    """Pairs of same-named images (suffix aside) in two folders; unpaired files are left out."""
    if not noisy_dir.is_dir() or not clean_dir.is_dir():
        return []

    def images(folder: Path) -> dict[str, Path]:
        return {
            p.stem: p
            for p in sorted(folder.iterdir())
            if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        }

    noisy, clean = images(noisy_dir), images(clean_dir)
    return [PagePair(n, noisy[n], clean[n], group) for n in sorted(set(noisy) & set(clean))]


def binarization_sets(data: Path) -> dict[str, list[PagePair]]:
    """Group name -> pairs: ``dibco-20XX`` for each DIBCO year, then the extra sets by name."""
    sets: dict[str, list[PagePair]] = {}
    dibco = data / "dibco"
    years = sorted(p for p in dibco.iterdir() if p.is_dir()) if dibco.is_dir() else []
    for year in years:
        name = f"dibco-{year.name}"
        pairs = _paired_folder(year / "imgs", year / "gt", name)
        if pairs:
            sets[name] = pairs
    for extra in EXTRA_SETS:
        folder = data / "more-binarization" / extra
        pairs = _paired_folder(folder / "imgs", folder / "gt", extra)
        if pairs:
            sets[extra] = pairs
    return sets


def office_sets(data: Path) -> dict[str, list[PagePair]]:
    """``TR`` and ``VA``: NoisyOffice pages by the partition manifest.csv gives each id."""
    root = data / "noisyoffice"
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        return {}
    with manifest.open(newline="") as handle:
        partition = {row["id"]: row["partition"] for row in csv.DictReader(handle)}
    sets: dict[str, list[PagePair]] = {}
    for pair in _paired_folder(root / "train", root / "train_cleaned", ""):
        split = partition.get(pair.name)
        if split is not None:
            sets.setdefault(split, []).append(PagePair(pair.name, pair.noisy, pair.clean, split))
    return dict(sorted(sets.items()))


def plan_folds(data: Path, task: str) -> list[Fold]:
    """The folds of ``task`` (binarization or office) over the data under ``data``."""
    if task == "binarization":
        sets = binarization_sets(data)
        return [
            Fold(
                name,
                task,
                tuple(p for other, pairs in sets.items() if other != name for p in pairs),
                tuple(held_out),
            )
            for name, held_out in sets.items()
        ]
    if task == "office":
        sets = office_sets(data)
        folds = []
        for train, test in (("TR", "VA"), ("VA", "TR")):
            if train in sets and test in sets:
                folds.append(
                    Fold(f"noisyoffice-{train}-{test}", task, tuple(sets[train]), tuple(sets[test]))
                )
        return folds
    raise ValueError(f"unknown task {task!r}: binarization or office")


def stage(fold: Fold, root: Path) -> tuple[Path, Path]:
    """Symlink the fold's pages into ``root/FOLD/{train,test}/{noisy,clean}``; the two folders."""
    folders = []
    for part, pairs in (("train", fold.train), ("test", fold.test)):
        base = root / fold.name / part
        for kind in ("noisy", "clean"):
            folder = base / kind
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.iterdir():
                if old.is_symlink():
                    old.unlink()
            for pair in pairs:
                source = pair.noisy if kind == "noisy" else pair.clean
                (folder / f"{pair.name}{source.suffix}").symlink_to(source.resolve())
        folders.append(base)
    return folders[0], folders[1]


# --- scoring --------------------------------------------------------------------------------


def score_baselines(
    pairs: Sequence[PagePair], methods: Sequence[str] = BASELINES
) -> dict[str, Any]:
    """Mean scores of the classic ``methods`` (and "no cleaning") on ``pairs``, per target kind."""
    from docclean.evaluation import baselines, metrics
    from docclean.io.images import read_image

    scores: dict[str, dict[str, list[dict[str, float]]]] = {}
    for pair in pairs:
        noisy = read_image(pair.noisy).pixels
        target = read_image(pair.clean).pixels
        kind = "bilevel" if metrics.is_bilevel(target) else "gray"
        score = metrics.bilevel_scores if kind == "bilevel" else metrics.gray_scores
        for method in ("no_cleaning", *methods):
            output = baselines.BASELINES.get(method, baselines.no_cleaning)(noisy)
            row = {**score(output, target), "pixels": float(target.size)}
            scores.setdefault(kind, {}).setdefault(method, []).append(row)
    means: dict[str, Any] = {}
    for kind, by_method in scores.items():
        means[kind] = {}
        for method, rows in by_method.items():
            pixels = np.array([r.pop("pixels") for r in rows])
            means[kind][method] = metrics.mean_scores(rows)
            if kind == "gray":  # over all pixels at once, as evaluate's rmse_pooled
                squared = np.array([r["rmse"] ** 2 for r in rows])
                pooled = float(np.sqrt((pixels * squared).sum() / pixels.sum()))
                means[kind][method]["rmse_pooled"] = pooled
    return means


def run(command: list[str], capture: bool = False) -> str:
    """Run a docclean command, its progress on our stderr; its stdout when ``capture``."""
    print("$ " + shlex.join(command), file=sys.stderr, flush=True)
    done = subprocess.run(
        command,
        stdout=subprocess.PIPE if capture else sys.stderr,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {shlex.join(command)}")
    return done.stdout if capture else ""


def docclean(*args: str) -> list[str]:
    return [sys.executable, "-m", "docclean", *args]


def evaluate(model: str, test_dir: Path, device: str) -> tuple[str, dict[str, Any]]:
    """``docclean evaluate --json`` of ``model`` on a staged folder: (method name, mean per kind)."""
    command = docclean(
        "evaluate", "--noisy", str(test_dir / "noisy"), "--clean", str(test_dir / "clean"),
        "--model", model, "--device", device, "--json",
    )  # fmt: skip
    report = json.loads(run(command, capture=True))
    name = next(iter(report["models"]))
    return name, {kind: means[name] for kind, means in report["mean"].items()}


def train_command(train_dir: Path, out: Path, device: str, flags: list[str]) -> list[str]:
    """``docclean train`` on a staged folder into ``out`` (replacing it), the recipe's flags last."""
    paths = ["--noisy", str(train_dir / "noisy"), "--clean", str(train_dir / "clean")]
    return docclean("train", *paths, "-o", str(out), "--overwrite", "--device", device, *flags)


def _init_from(flags: list[str]) -> str | None:
    """The model a recipe fine-tunes (its ``--init-from``), if any."""
    for i, flag in enumerate(flags):
        if flag == "--init-from" and i + 1 < len(flags):
            return flags[i + 1]
        if flag.startswith("--init-from="):
            return flag.split("=", 1)[1]
    return None


def card_pages(model: str) -> tuple[set[str], set[str]]:
    """Page names a model's card says it trained on, and those it was validated (chosen) on;
    empty when it does not say."""
    from docclean.models.store import card_path, resolve_model

    try:
        card = json.loads(card_path(resolve_model(model)).read_text())
    except (OSError, ValueError):
        return set(), set()
    training = card.get("training") if isinstance(card, dict) else None
    if not isinstance(training, dict):
        return set(), set()
    trained, validated = ({str(n) for n in training.get(key) or []}
                          for key in ("train_pages", "validation_pages"))  # fmt: skip
    return trained, validated


def record_folds(report: dict[str, Any], target: Path) -> list[str]:
    """Write the folds of a ``--model`` report whose held-out pages the scored model never trained
    on into the card of ``target`` (the scored model, or the model it is the validation twin of),
    replacing folds of the same name; returns the names written. A fold the scored model was
    validated on says so in its ``data``."""
    from docclean.models.card import Validation, read_card, write_card

    card = read_card(target)
    folds = dict(card.folds)
    written = []
    for fold in report["folds"]:
        method = fold.get("method")
        if method is None or fold.get("seen"):
            continue
        # a fold's pages are of one kind (bilevel or gray): the model's scores are in that one
        by_method = next(s for s in fold["scores"].values() if method in s)
        scores = {
            "model" if m == method else m: {  # a card holds finite numbers only
                metric: round(value, 5) for metric, value in figures.items() if math.isfinite(value)
            }
            for m, figures in by_method.items()
        }
        chosen = fold.get("validated", {}).get(method)
        data = f"{fold['name']}: {fold['test_pages']} pages it never trained on"
        if chosen:
            data += f" ({chosen} of them its validation pages, chosen on)"
        folds[fold["name"]] = Validation(
            pages=fold["test_pages"],
            scores=scores,
            data=data,
            command=report["command"],
            validation_model="" if method == target.stem else method,
        )
        written.append(fold["name"])
    write_card(target, dataclasses.replace(card, folds=folds))
    return written


# --- table ----------------------------------------------------------------------------------


def fold_means(results: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Kind -> method -> metric: the mean over folds (each fold once)."""
    collected: dict[str, dict[str, dict[str, list[float]]]] = {}
    for fold in results:
        for kind, by_method in fold["scores"].items():
            for method, scores in by_method.items():
                for metric, value in scores.items():
                    target = collected.setdefault(kind, {}).setdefault(method, {})
                    target.setdefault(metric, []).append(value)
    return {
        kind: {
            method: {
                metric: float(np.mean([v for v in values if math.isfinite(v)]))
                if any(math.isfinite(v) for v in values)
                else math.nan
                for metric, values in by_metric.items()
            }
            for method, by_metric in by_method.items()
        }
        for kind, by_method in collected.items()
    }


def _fmt(metric: str, value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.4f}" if metric in ("rmse", "rmse_pooled", "ssim") else f"{value:.2f}"


def render(report: dict[str, Any]) -> str:
    """Markdown: one row per fold and method, then the means over folds."""
    lines: list[str] = []
    for kind in ("bilevel", "gray"):
        folds = [f for f in report["folds"] if kind in f["scores"]]
        if not folds:
            continue
        names = BILEVEL_METRICS if kind == "bilevel" else GRAY_METRICS
        header = {"fm": "FM", "pfm": "p-FM", "psnr": "PSNR", "drd": "DRD", "rmse": "RMSE",
                  "rmse_pooled": "RMSE pooled", "ssim": "SSIM"}  # fmt: skip
        lines += [
            f"{kind} targets",
            "",
            "| fold (held out) | pages | method | " + " | ".join(header[n] for n in names) + " |",
            "|---|---|---|" + "---|" * len(names),
        ]
        for fold in folds:
            for method, scores in fold["scores"][kind].items():
                seen = fold.get("seen", {}).get(method)
                chosen = fold.get("validated", {}).get(method)
                mark = f" (saw {seen})" if seen else f" (validated on {chosen})" if chosen else ""
                lines.append(
                    f"| {fold['name']} | {fold['test_pages']} | {method}{mark} | "
                    + " | ".join(_fmt(n, scores.get(n)) for n in names)
                    + " |"
                )
        means = report["mean"].get(kind, {})
        for method, scores in means.items():
            lines.append(
                f"| **mean of {len(folds)} fold{'s' * (len(folds) > 1)}** | | {method} | "
                + " | ".join(_fmt(n, scores.get(n)) for n in names)
                + " |"
            )
        unseen = [f for f in folds if not (f.get("seen") or f.get("validated"))]
        if len(unseen) < len(folds):
            for method, scores in report["mean_unseen"].get(kind, {}).items():
                lines.append(
                    f"| **mean of the {len(unseen)} folds it never saw** | | {method} | "
                    + " | ".join(_fmt(n, scores.get(n)) for n in names)
                    + " |"
                )
        lines.append("")
    for warning in report["warnings"]:
        lines.append(f"warning: {warning}")
    lines.append(f"{report['seconds']} s; command: {report['command']}")
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", required=True, choices=["binarization", "office"])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--recipe", help='`docclean train` flags, quoted: "--arch fast-unet ..."')
    mode.add_argument("--model", help="Only score this model (name or .keras path) on every fold")
    mode.add_argument("--baselines-only", action="store_true", help="Only the classic methods")
    parser.add_argument("--steps", type=int, help="Override the recipe: --steps-per-epoch")
    parser.add_argument("--epochs", type=int, help="Override the recipe: --epochs")
    parser.add_argument("--name", help="Run folder under runs/folds/ [recipe-<hash of flags>]")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Keep a fold's model if trained; resume a fold's interrupted training",
    )
    parser.add_argument("--folds", help="Only these folds, comma-separated")
    parser.add_argument("--no-baselines", action="store_true", help="Leave out Otsu and Sauvola")
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="[../shared/data]")
    parser.add_argument("--runs", type=Path, default=RUNS, help="Staging root [runs/folds]")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"])
    parser.add_argument("--json", action="store_true", help="Print the report as JSON")
    parser.add_argument(
        "--card",
        type=Path,
        action="append",
        default=[],
        help="With --model: write the folds it never trained on into this model's card "
        "(the scored model's, or that of the model it is the validation twin of); repeatable",
    )
    parser.add_argument("--dry-run", action="store_true", help="Only print the folds")
    args = parser.parse_args(argv)

    folds = plan_folds(args.data, args.task)
    if args.folds:
        wanted = set(args.folds.split(","))
        unknown = wanted - {f.name for f in folds}
        if unknown:
            parser.error(f"no fold {', '.join(sorted(unknown))}; folds: {[f.name for f in folds]}")
        folds = [f for f in folds if f.name in wanted]
    if not folds:
        parser.error(f"no {args.task} data under {args.data}")
    if not (args.recipe or args.model or args.baselines_only or args.dry_run):
        parser.error("one of --recipe, --model or --baselines-only is needed")
    for target in args.card:
        if not (args.model and target.suffix == ".keras" and target.with_suffix(".json").is_file()):
            parser.error(
                f"--card {target}: needs --model, and a .keras model with its card beside it"
            )
    if args.dry_run:
        for fold in folds:
            print(f"{fold.name}: train {len(fold.train)} pages, test {len(fold.test)} pages")
        return 0

    started = time.perf_counter()
    warnings: list[str] = []
    recipe = shlex.split(args.recipe) if args.recipe else []
    tag = args.name or (
        "recipe-" + hashlib.sha256(args.recipe.encode()).hexdigest()[:8]
        if args.recipe
        else "scored"
    )
    root = args.runs / tag
    if args.recipe:
        root.mkdir(parents=True, exist_ok=True)
        (root / "recipe.txt").write_text(args.recipe + "\n")
    seen_in_training, seen_in_validation = card_pages(args.model) if args.model else (set(), set())
    start_from = _init_from(recipe)
    if start_from:  # a recipe that fine-tunes a model also inherits what that model saw
        seen_in_training, seen_in_validation = card_pages(start_from)
        warnings.append(
            f"the recipe starts from {start_from}: its folds are validation figures only where "
            f"{start_from} never saw the held-out pages"
        )
    if args.card and not seen_in_training | seen_in_validation:
        parser.error(f"--card: {args.model}'s card lists no training pages to check folds against")
    if args.model:
        warnings.append(
            f"{args.model} was not trained per fold: its scores are validation figures only on "
            "folds whose pages it never saw"
            + (
                " (its card lists no training pages)"
                if not seen_in_training | seen_in_validation
                else ""
            )
        )

    results: list[dict[str, Any]] = []
    for fold in folds:
        print(f"fold {fold.name}: {len(fold.train)} train, {len(fold.test)} test", file=sys.stderr)
        train_dir, test_dir = stage(fold, root)
        scores: dict[str, dict[str, dict[str, float]]] = {}
        result: dict[str, Any] = {
            "name": fold.name,
            "train_pages": len(fold.train),
            "test_pages": len(fold.test),
            "scores": scores,
        }
        model = args.model
        if args.recipe:
            out = root / fold.name / "model"
            if not (args.reuse and out.with_suffix(".keras").is_file()):
                command = [
                    *recipe,
                    *(["--steps-per-epoch", str(args.steps)] if args.steps else []),
                    *(["--epochs", str(args.epochs)] if args.epochs else []),
                ]
                interrupted = out.with_suffix(".run").is_dir()  # its checkpoint is there
                if args.reuse and interrupted:
                    command.append("--resume")
                trained = train_command(train_dir, out, args.device, command)
                result["train_command"] = shlex.join(trained)
                run(trained)
            model = str(out.with_suffix(".keras"))
        if model is not None:
            name, means = evaluate(model, test_dir, args.device)
            label = f"{tag}" if args.recipe else name
            result["method"] = label
            for kind, values in means.items():
                scores.setdefault(kind, {})[label] = {
                    k: v for k, v in values.items() if k != "seconds"
                }
            held_out = {p.name for p in fold.test}
            trained_on = len(held_out & seen_in_training)
            validated_on = len(held_out & seen_in_validation)
            who = start_from or name
            if trained_on:
                result["seen"] = {label: trained_on}
                warnings.append(
                    f"{fold.name}: {who} trained on {trained_on} of its {len(fold.test)} "
                    "held-out pages"
                )
            elif validated_on:
                result["validated"] = {label: validated_on}
                warnings.append(
                    f"{fold.name}: {who} was validated on {validated_on} of its "
                    f"{len(fold.test)} held-out pages (chosen on them, never trained on them)"
                )
        if not args.no_baselines:
            for kind, by_method in score_baselines(fold.test).items():
                for method, values in by_method.items():
                    scores.setdefault(kind, {})[method] = values
        results.append(result)

    report = {
        "task": args.task,
        "mode": "recipe" if args.recipe else "model" if args.model else "baselines",
        "recipe": args.recipe,
        "model": args.model,
        "folds": results,
        "mean": fold_means(results),
        "mean_unseen": fold_means(
            [r for r in results if not (r.get("seen") or r.get("validated"))]
        ),
        "warnings": warnings,
        "seconds": round(time.perf_counter() - started, 1),
        "command": "python benchmarks/folds.py "
        + shlex.join(sys.argv[1:] if argv is None else argv),
    }
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for target in args.card:
        recorded = record_folds(report, target)
        print(f"wrote folds {', '.join(recorded) or '(none)'} into {target}", file=sys.stderr)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
