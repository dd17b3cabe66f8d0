"""`docclean synth`: make training pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from docclean.cli.common import (
    errors_to_exit_codes,
    interrupt_on_sigterm,
)
from docclean.errors import ExitCode
from docclean.progress import Reporter


def _list_kinds(value: bool) -> None:
    if value:
        from docclean.synth.generator import describe_kinds

        for name, summary in describe_kinds().items():
            print(f"{name}\t{summary}")
        raise typer.Exit()


def synth(
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Folder to write: OUT/noisy/NAME.png + OUT/clean/NAME.png."
        ),
    ],
    clean_dir: Annotated[
        Path | None,
        typer.Argument(
            help="Clean pages: a folder (searched recursively) or a file; optional with --render.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed makes the same pages.", min=0)] = 0,
    per_page: Annotated[
        int,
        typer.Option(help="Dirty variants of each clean page (named NAME-0, NAME-1, …).", min=1),
    ] = 1,
    kinds: Annotated[
        str | None,
        typer.Option(help="Comma-separated degradations to use (default: all; see --list-kinds)."),
    ] = None,
    exclude_kinds: Annotated[
        str | None, typer.Option(help="Comma-separated degradations to leave out.")
    ] = None,
    mix: Annotated[
        bool,
        typer.Option(
            help="Give each page a random mix of the kinds (at least one); --no-mix: all of them."
        ),
    ] = True,
    render: Annotated[
        int, typer.Option(help="Also render N clean pages of pseudo-text.", min=0)
    ] = 0,
    size: Annotated[
        str,
        typer.Option(help="Size of rendered pages, WxH px (with --dpi: the crop of a page)."),
    ] = "1240x1754",
    dpi: Annotated[
        str | None,
        typer.Option(
            help="Resolution of rendered pages: 300, a range 150-600 (drawn log-uniformly) or "
            "choices 150,300,600. Type gets its real size (pt * dpi / 72 px) and --size is a crop "
            "of an A4 or Letter page. Default: the whole page is --size, type in proportion.",
            show_default=False,
        ),
    ] = None,
    historical: Annotated[
        bool,
        typer.Option(
            help="Binarization pairs: aged paper, iron-gall ink, verso bleed-through (and other "
            "kinds by chance) over handwriting-like pages; targets text black, paper white."
        ),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Write into an output folder that already holds pages.")
    ] = False,
    list_kinds: Annotated[
        bool,
        typer.Option(
            "--list-kinds", callback=_list_kinds, is_eager=True, help="List the degradations."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
) -> None:
    """Make training pairs: realistic dirty versions of clean pages, beside a clean copy.

    `docclean train OUT` then trains on them directly.
    """
    from docclean.synth.generator import (
        SynthOptions,
        parse_kind_list,
        resolve_kinds,
        synthesize,
    )
    from docclean.synth.render import parse_scale, parse_size

    reporter = Reporter(quiet=quiet)
    with errors_to_exit_codes(reporter), interrupt_on_sigterm():
        options = SynthOptions(
            seed=seed,
            per_page=per_page,
            kinds=resolve_kinds(parse_kind_list(kinds), parse_kind_list(exclude_kinds)),
            mix=mix,
            render=render,
            size=parse_size(size),
            overwrite=overwrite,
            dpi=parse_scale(dpi) if dpi is not None else None,
            historical=historical,
        )
        summary = synthesize(clean_dir, output, options, reporter)
        reporter.info(
            f"wrote {summary.pairs} pair(s) from {summary.pages} page(s) to {output / 'noisy'} "
            f"and {output / 'clean'} in {summary.seconds:.1f} s"
            + (f"; {len(summary.failed)} file(s) failed" if summary.failed else "")
        )
    if summary.failed:
        raise typer.Exit(int(ExitCode.INPUT_FAILED))
