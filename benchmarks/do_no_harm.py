"""Do no harm: what models and classic methods do to clean pages and to good light scans of them.

    python benchmarks/do_no_harm.py [--model NAME|PATH ...] [--dpi 150,300,600] [--pages 2]
                                    [--half] [--toned] [--shadowed] [--turned] [--pictured]
                                    [--annotated] [--blurred 0.9,1.1]
                                    [--crop docs/PNG] [--json]

Renders A4 specimen pages (docclean.evaluation.harm: bold headings of 24-48 pt, body text of
9-12 pt, small print of 6-7 pt, punctuation, a ruled table, 1-3 px rules) at each dpi, and a good
light scan of each; runs every model (default: the shipped default) and the baselines "no
cleaning", Otsu and Sauvola on them, and prints per dpi and page kind: ink lost (worst page), ink
components lost (more than half their pixels gone), ink added (worst page) and RMSE against the pure
page (pooled over pages). Then each method against the targets of the issue "First, do no harm":
ink lost <= 1 % on the worst page, a cleaned pure page within RMSE 0.010, light scans within pooled
RMSE 0.040, no component lost. ``--crop`` writes before | after of the heading the first model
damaged most. ``--half`` keeps the top half of each page (less memory at 600 dpi). ``--toned``
adds each page with gray that belongs to it (headings in a 0.45 tint, table header rows shaded
0.85), which must come back as it is (held to the pure pages' RMSE target), and a light scan of
each (reported, not judged). ``--shadowed`` adds a light scan of each toned page under a hand's
or a phone's hard shadow over a bottom corner (reported, not judged). ``--turned`` adds a light
scan of each page turned a quarter, as a landscape page scanned sideways, scored against the pure
page turned alike (reported, not judged). ``--pictured`` adds a light scan of each page with a
photograph on it, 2 x 3 in, scored against the page with the photograph (reported, not judged).
``--annotated`` adds a light scan of each page with handwritten notes in 0.4 gray (a pencil, a
light pen) across its middle third, scored against the page with the notes (reported, not judged).
``--blurred 0.9,1.1``
adds a blurred, noisier scan of each page at each sigma (a phone's photo, a scan out of focus):
reported, left out of the verdict.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import method_name

from docclean.evaluation import baselines, harm


def _dpis(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def _blurs(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", action="append", help="Model name or .keras path; repeat [default model]"
    )
    parser.add_argument("--dpi", type=_dpis, default=list(harm.DPIS), help="e.g. 150,300,600")
    parser.add_argument("--pages", type=int, default=2, help="Specimen pages per dpi (seeds)")
    parser.add_argument("--half", action="store_true", help="Only the top half of each page")
    parser.add_argument(
        "--toned", action="store_true", help="Also pages with tinted headings and shaded rows"
    )
    parser.add_argument(
        "--shadowed", action="store_true", help="Also the toned pages under a hard shadow"
    )
    parser.add_argument(
        "--dusty",
        action="store_true",
        help="Also the toned pages scanned off dusty glass: noisier, with black and white specks",
    )
    parser.add_argument(
        "--turned", action="store_true", help="Also a light scan of each page turned a quarter"
    )
    parser.add_argument(
        "--pictured", action="store_true", help="Also a light scan of each page with a photograph"
    )
    parser.add_argument(
        "--annotated",
        action="store_true",
        help="Also a light scan of each page with handwritten notes in gray across it",
    )
    parser.add_argument(
        "--binarize",
        action="store_true",
        help="Models as `clean --binarize` runs them [default: the binarizer]; also handwritten "
        "pages; judged against Otsu and Sauvola",
    )
    parser.add_argument(
        "--targets",
        type=Path,
        action="append",
        help="Folder of binarization targets: a good light scan of each is a page too; repeat",
    )
    parser.add_argument(
        "--blurred",
        type=_blurs,
        default=[],
        help="Also a blurred, noisier scan of each page at these blur sigmas (px), e.g. 0.9,1.1; "
        "reported, not judged",
    )
    parser.add_argument("--crop", type=Path, help="PNG: before | after of the worst heading")
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "gpu"])
    parser.add_argument("--json", action="store_true", help="Print the report as JSON")
    parser.add_argument("--json-file", type=Path, help="Also write the JSON report to this file")
    args = parser.parse_args(argv)

    from docclean.backend import tensorflow
    from docclean.inference.cleaner import PageCleaner
    from docclean.models.store import DEFAULT_BINARIZE_MODEL, load_model

    tensorflow(args.device)
    methods: dict[str, harm.Cleaner] = {"no_cleaning": baselines.no_cleaning}
    models: dict[str, dict[str, Any]] = {}
    for spec in args.model or [DEFAULT_BINARIZE_MODEL if args.binarize else None]:
        loaded = load_model(spec)
        cleaner = PageCleaner(loaded, device=args.device, binarize=args.binarize)
        name = method_name(loaded.name, spec, methods)
        methods[name] = cleaner.clean
        card = loaded.card  # a dict, or a typed ModelCard
        sha256 = card.get("sha256") if isinstance(card, dict) else getattr(card, "sha256", None)
        models[name] = {"path": str(loaded.path), "sha256": sha256}
    methods["otsu"] = baselines.otsu
    methods["sauvola"] = baselines.sauvola
    first_model = next(iter(models))

    kinds = ("pure", "light_scan") + ("toned", "toned_scan") * args.toned
    kinds += ("shadowed_scan",) * args.shadowed + ("dusty_scan",) * args.dusty
    kinds += ("turned_scan",) * args.turned
    kinds += ("pictured_scan",) * args.pictured + ("annotated_scan",) * args.annotated
    kinds += ("handwritten",) * args.binarize
    pages = itertools.chain(
        _pages(args.dpi, args.pages, args.half, kinds, args.blurred),
        _target_scans(args.targets or []),
    )
    started = time.perf_counter()
    report = harm.harm_report(
        methods,
        pages,
        keep_crops=args.crop is not None,
        on_page=lambda s: print(f"{s.name} ({s.page.shape[1]}x{s.page.shape[0]})", file=sys.stderr),
    )
    report["models"] = models
    if args.binarize:
        report["binarizer_verdict"] = {
            m: harm.binarizer_verdict(report["pages"], m) for m in models
        }
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["command"] = "python benchmarks/do_no_harm.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    if args.crop is not None:
        worst = report.pop("worst_heading").get(first_model)
        if worst is not None:
            _write_crop(args.crop, worst)
            report["crop"] = {
                "path": str(args.crop),
                "method": first_model,
                "page": worst.page,
                "box": list(worst.box),
                "ink_lost": worst.ink_lost,
            }
    if args.json_file is not None:
        args.json_file.write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render(report))
    return 0


def _pages(
    dpis: list[int], count: int, half: bool, kinds: tuple[str, ...], blurs: list[float]
) -> Any:
    for dpi in dpis:
        height, width = harm.a4_pixels(dpi)
        size = (height // 2, width) if half else None
        for specimen in harm.specimens([dpi], seeds=range(count), kinds=kinds, blurs=blurs):
            if size is None:
                yield specimen
                continue
            cut = size[0]
            yield harm.Specimen(
                specimen.name.replace(f"{width}x{height}", f"{width}x{cut}"),
                dpi,
                specimen.kind,
                specimen.page[:cut],
                specimen.pure[:cut],
                tuple(b for b in specimen.headings if b[2] <= cut),
            )


def _target_scans(folders: list[Path]) -> Any:
    """A good light scan (300 dpi) of every image in ``folders``, named by its file."""
    from docclean.io.images import is_image_path, read_image

    for folder in folders:
        for seed, path in enumerate(sorted(p for p in folder.iterdir() if is_image_path(p))):
            specimen = harm.scan_of_target(read_image(path).pixels, 300, seed)
            yield dataclasses.replace(specimen, name=f"{folder.name}/{path.stem}")


CROP_WIDTH = 900
"""Widest panel of the --crop PNG, px (the heading's left part at full resolution)."""


def _write_crop(path: Path, worst: harm.WorstHeading) -> None:
    """before | after side by side, 12 px of mid-gray between, each at most CROP_WIDTH px wide."""
    from PIL import Image

    before, after = worst.before[:, :CROP_WIDTH], worst.after[:, :CROP_WIDTH]
    gap = np.full((before.shape[0], 12), 0.5, np.float32)
    strip = np.concatenate([before, gap, after], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(np.clip(strip, 0, 1) * 255).astype(np.uint8), mode="L").save(path)


def render(report: dict[str, Any]) -> str:
    """The report as Markdown tables: figures per method, dpi and page kind; then the verdicts."""
    lines = [
        "| method | dpi | pages | page kind | ink lost (worst page) | components lost | "
        "ink added (worst page) | RMSE (pooled) | heading ink lost (worst) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for method, rows in report["summary"].items():
        for row in rows:
            lines.append(
                f"| {method} | {row['dpi']} | {row['pages']} | {row['kind'].replace('_', ' ')} | "
                f"{100 * row['ink_lost_worst']:.2f} % | "
                f"{row['components_lost']} of {row['components']} | "
                f"{100 * row['ink_added_worst']:.3f} % | {row['rmse']:.4f} | "
                f"{100 * row['heading_ink_lost_worst']:.1f} % |"
            )
    targets = report["targets"]
    lines += [
        "",
        f"Targets: ink lost <= {100 * targets['ink_lost_worst']:.0f} % on the worst page; pure page "
        f"RMSE <= {targets['pure_rmse']:.3f}; light scans pooled RMSE <= {targets['scan_rmse']:.3f}; "
        "no ink component lost.",
        "",
        "| method | ink lost (worst page) | pure RMSE (worst page) | light scan RMSE (pooled) | "
        "toned RMSE (worst page) | components lost | meets targets |",
        "|---|---|---|---|---|---|---|",
    ]
    for method, v in report["verdict"].items():
        toned = f"{v['toned_rmse_worst']:.4f}" if "toned_rmse_worst" in v else "-"
        lines.append(
            f"| {method} | {100 * v['ink_lost_worst']:.2f} % | {v['pure_rmse_worst']:.4f} | "
            f"{v['scan_rmse_pooled']:.4f} | {toned} | {v['components_lost']} | "
            f"{'yes' if v['passes'] else 'no'} |"
        )
    for method, v in report.get("binarizer_verdict", {}).items():
        against = [m for m in next(iter(v["kinds"].values()))["fm"] if m != method]
        lines += [
            "",
            f"{method} against {' and '.join(against)} (mean FM per page kind; components lost):",
            "",
            f"| page kind | pages | {method} | " + " | ".join(against) + " | never below them |",
            "|---|---|---|" + "---|" * len(against) + "---|",
        ]
        for kind, k in v["kinds"].items():
            lines.append(
                f"| {kind.replace('_', ' ')} | {k['pages']} | "
                + " | ".join(
                    f"{k['fm'][m]:.2f} ({k['components_lost'][m]})" for m in [method, *against]
                )
                + f" | {'yes' if k['passes'] else 'no'} |"
            )
    if "crop" in report:
        crop = report["crop"]
        lines += [
            "",
            f"Worst heading for {crop['method']}: {crop['page']}, box {crop['box']}, "
            f"{100 * crop['ink_lost']:.1f} % of its ink lost; before | after in {crop['path']}",
        ]
    lines += ["", f"{report['seconds']} s; command: {report['command']}"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
