"""`docclean train`: fit a model on paired pages (options -> TrainConfig; defaults live there)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from docclean.cli.common import (
    DeviceChoice,
    DeviceOption,
    data_folders,
    errors_to_exit_codes,
)
from docclean.progress import Reporter
from docclean.training.config import DEFAULT_ARCH, DEFAULT_EVAL_EVERY, default_of


def _default(name: str) -> str:
    """`` [default: X]`` for the help text, from :class:`TrainConfig` (escaped for rich)."""
    value = default_of(name)
    shown = ",".join(value) if isinstance(value, list) else value
    return f" \\[default: {shown}]"


def train(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Model to write: NAME.keras + NAME.json."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Argument(
            help="A folder holding noisy/ and clean/, or a pack of pairs (.npz, see --pack); "
            "or use --noisy/--clean."
        ),
    ] = None,
    noisy: Annotated[Path | None, typer.Option(help="Folder of noisy pages.")] = None,
    clean: Annotated[
        Path | None, typer.Option(help="Folder of clean targets, same file names.")
    ] = None,
    pack: Annotated[
        Path | None,
        typer.Option(
            help="Only pack the pairs into this .npz (uint8 pages, bilevel targets as bits) and "
            "stop; train on the pack later by naming it as the data.",
        ),
    ] = None,
    arch: Annotated[
        str | None,
        typer.Option(
            help=f"Architecture (see `docclean architectures`) \\[default: {DEFAULT_ARCH}]."
        ),
    ] = None,
    init_from: Annotated[
        str | None,
        typer.Option(
            help="Fine-tune this model (shipped name or .keras path) on your pairs; with --arch, "
            "grow it into that larger architecture first (tone-unet-fine, -lin or -edge from "
            "tone-unet; fast-unet-edge or -mirrored from fast-unet). The starting model is "
            "scored on the validation pages too."
        ),
    ] = None,
    loss: Annotated[
        str | None,
        typer.Option(help="mse, bce, l1, mse+ssim, mse+edge or mse+ink" + _default("loss")),
    ] = None,
    regularizer: Annotated[
        str | None,
        typer.Option(
            help="none; sparse (L1 activity penalty on the bottleneck); or contractive (penalty "
            "on the bottleneck's Jacobian)" + _default("regularizer")
        ),
    ] = None,
    regularizer_weight: Annotated[
        float | None,
        typer.Option(help="Weight of the --regularizer penalty \\[default: 1e-4].", min=0),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(help="Most epochs to run; early stopping may end sooner" + _default("epochs")),
    ] = None,
    steps_per_epoch: Annotated[
        int | None, typer.Option(help="Steps per epoch \\[default: about one pass over the pages].")
    ] = None,
    patience: Annotated[
        int | None,
        typer.Option(
            help="Epochs without improvement before stopping (plateau: half of it halves the "
            "learning rate)" + _default("patience")
        ),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            help="Run exactly this many steps instead of epochs (no early stopping), scored "
            "every --eval-every steps."
        ),
    ] = None,
    eval_every: Annotated[
        int | None,
        typer.Option(
            help="With --steps: steps between scores of the whole validation pages, tiled as "
            f"`clean` tiles them \\[default: {DEFAULT_EVAL_EVERY}]."
        ),
    ] = None,
    patch_size: Annotated[
        int | None,
        typer.Option(
            help="Side of the square training patches, px \\[default: the architecture's; 256 for "
            "tone-unet and fast-unet, 64 for the seed models]."
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            help="Patches per training step \\[default: the architecture's; 8 for tone-unet and "
            "fast-unet, 32 for the seed models]."
        ),
    ] = None,
    learning_rate: Annotated[
        float | None, typer.Option(help="Adam learning rate" + _default("learning_rate"))
    ] = None,
    schedule: Annotated[
        str | None,
        typer.Option(
            help="Learning-rate schedule: plateau (halve it when validation stalls) or cosine "
            "(a linear warm-up, then a cosine decay to 0 by the last step)" + _default("schedule")
        ),
    ] = None,
    warmup: Annotated[
        int | None,
        typer.Option(help="Cosine warm-up steps \\[default: 2 % of the run's steps]."),
    ] = None,
    ema: Annotated[
        float | None,
        typer.Option(
            help="Keep an exponential moving average of the weights with this decay (0.999, "
            "say); the average is what is scored and saved. 0: none."
        ),
    ] = None,
    keep: Annotated[
        str | None,
        typer.Option(
            help="best: the weights that scored best on the validation pages; last: the last "
            "step's" + _default("keep")
        ),
    ] = None,
    decision_level: Annotated[
        str | None,
        typer.Option(
            help="A -mirrored binarizer's decision level, set after training: auto (the level "
            "0.30-0.90 with the best FM on the validation pages) or a number in (0, 1) (a twin's "
            "level, for a model trained on every page) \\[default: the model's, 0.5 when new]."
        ),
    ] = None,
    input_levels: Annotated[
        str | None,
        typer.Option(
            help="as-scanned: the model takes pages as they come; paper-ink: it learns and "
            "cleans every page put at full contrast, paper at 1 and ink at 0 \\[default: the "
            "starting model's, as-scanned when new]."
        ),
    ] = None,
    val: Annotated[
        str | None,
        typer.Option(
            help="Validation pages: comma-separated names (NAME* for every name that starts "
            "with NAME) or @FILE with one name a line."
        ),
    ] = None,
    val_fraction: Annotated[
        float | None,
        typer.Option(
            help="Fraction of whole pages held out for validation (when no --val)"
            + _default("val_fraction")
        ),
    ] = None,
    augment: Annotated[
        str | None,
        typer.Option(
            help="Patch augmentations, comma-separated, or none: flip (mirror), tone (jitter the "
            "noisy brightness and contrast), scale (resample 0.6x-1.6x, like another dpi)"
            + _default("augment")
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed for weights, split and sampling" + _default("seed"))
    ] = None,
    synthetic: Annotated[
        int | None,
        typer.Option(help="Mix in N synthetic pairs (rendered text pages, random damage)."),
    ] = None,
    synthetic_share: Annotated[
        float | None,
        typer.Option(
            help="Share of each batch's patches drawn from the synthetic pairs, 0-1 "
            "\\[default: by page area]."
        ),
    ] = None,
    synthetic_undamaged: Annotated[
        int | None,
        typer.Option(
            help="Mix in N rendered pages paired with themselves (teach leaving clean text alone)."
        ),
    ] = None,
    synthetic_exclude: Annotated[
        str | None,
        typer.Option(
            help="Degradation kinds the synthetic pairs never get, comma-separated (see "
            "`docclean synth --list-kinds`): to test generalization to a kind left out."
        ),
    ] = None,
    synthetic_size: Annotated[
        str | None,
        typer.Option(
            help="Size of rendered synthetic pages, WxH px (with --synthetic-dpi: the window cut "
            "from a page) \\[default: 768x768]."
        ),
    ] = None,
    synthetic_dpi: Annotated[
        str | None,
        typer.Option(
            help="Resolutions the synthetic pages are set at: 300, a range 150-600 (drawn "
            "log-uniform) or choices 150,300,600; type gets its real size (pt * dpi / 72 px) "
            "\\[default: a whole page fitted to --synthetic-size]."
        ),
    ] = None,
    synthetic_good_share: Annotated[
        float | None,
        typer.Option(
            help="Share of the --synthetic pages that are good ones (undamaged, or a good light "
            "scan whose target is the pure page, thresholded for a binarizer) \\[default: each "
            "kind's own chance, about 18 %; a binarizer's pages are all damaged]."
        ),
    ] = None,
    synthetic_tones: Annotated[
        float | None,
        typer.Option(
            help="Share of the rendered --synthetic office pages given gray that is part of the "
            "page and stays in the target: tinted headings, shaded table rows and boxes "
            "(needs --synthetic-dpi) \\[default: none].",
        ),
    ] = None,
    synthetic_notes: Annotated[
        float | None,
        typer.Option(
            help="Share of the rendered --synthetic office pages given handwritten notes in gray "
            "across their print, kept in the target (needs --synthetic-dpi) \\[default: none].",
        ),
    ] = None,
    synthetic_chance: Annotated[
        str | None,
        typer.Option(
            metavar="KIND=P,...",
            help="How often a damaged --synthetic page gets each named kind, 0-1, replacing the "
            "kind's usual chance (see `docclean synth --list-kinds`), e.g. "
            "heavy-salt-pepper=0.5,jpeg=0.6.",
        ),
    ] = None,
    checkpoint_every: Annotated[
        int | None,
        typer.Option(
            help="Steps between checkpoints in NAME.run/ beside the model (removed when the run "
            "ends)" + _default("checkpoint_every")
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Continue an interrupted run (same command) from its checkpoint."
        ),
    ] = False,
    skip_bad_pairs: Annotated[
        bool,
        typer.Option(
            "--skip-bad-pairs", help="Warn about unpaired or mismatched files instead of stopping."
        ),
    ] = False,
    description: Annotated[
        str | None, typer.Option(help="What the model is for (goes into its card).")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing model of that name.")
    ] = False,
    device: DeviceOption = DeviceChoice.auto,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the model card as JSON on stdout.")
    ] = False,
) -> None:
    """Train a model on paired noisy/clean pages (matched by file name)."""
    import json

    from docclean.errors import UsageError
    from docclean.synth.generator import parse_kind_list
    from docclean.training.config import TrainConfig
    from docclean.training.data import is_pack, parse_augment, read_name_list

    reporter = Reporter()
    with errors_to_exit_codes(reporter):
        given: dict[str, Any] = {
            "arch": arch,
            "init_from": init_from,
            "loss": loss,
            "regularizer": regularizer,
            "regularizer_weight": regularizer_weight,
            "epochs": epochs,
            "steps_per_epoch": steps_per_epoch,
            "patience": patience,
            "steps": steps,
            "eval_every": eval_every,
            "patch_size": patch_size,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "schedule": schedule,
            "warmup": warmup,
            "ema": ema,
            "keep": keep,
            "decision_level": decision_level,
            "input_levels": input_levels,
            "augment": parse_augment(augment) if augment is not None else None,
            "val_names": read_name_list(val) if val is not None else None,
            "val_fraction": val_fraction,
            "seed": seed,
            "synthetic": synthetic,
            "synthetic_share": synthetic_share,
            "synthetic_undamaged": synthetic_undamaged,
            "synthetic_exclude": parse_kind_list(synthetic_exclude),
            "synthetic_size": synthetic_size,
            "synthetic_dpi": synthetic_dpi,
            "synthetic_good_share": synthetic_good_share,
            "synthetic_tones": synthetic_tones,
            "synthetic_notes": synthetic_notes,
            "synthetic_chance": synthetic_chance,
            "checkpoint_every": checkpoint_every,
            "description": description,
        }
        options = {k: v for k, v in given.items() if v is not None}
        if pack is not None:
            from docclean.training.trainer import pack as pack_pairs

            noisy_dir, clean_dir = data_folders(data, noisy, clean, "train")
            config = TrainConfig(output=pack, skip_bad_pairs=skip_bad_pairs, overwrite=overwrite)
            pack_pairs(noisy_dir, clean_dir, pack, config, reporter)
            return
        if output is None:
            raise UsageError("missing option --output / -o", "name the model to write")
        source: Path
        target: Path | None
        if data is not None and noisy is None and clean is None and is_pack(data):
            source, target = data, None
        else:
            source, target = data_folders(data, noisy, clean, "train")
        config = TrainConfig(
            output=output,
            resume=resume,
            skip_bad_pairs=skip_bad_pairs,
            overwrite=overwrite,
            device=device.value,
            command=_command_line(),
            **options,
        )
        from docclean.training.trainer import train as run_training

        card = run_training(source, target, config, reporter)
    if json_out:
        print(json.dumps(card, indent=2))


def _command_line() -> str | None:
    """This process's command line when it is `docclean train ...`, shell-quoted; else None (a
    caller such as a test runner: the trainer then writes the command out from the options)."""
    if sys.argv[1:2] != ["train"]:
        return None
    return shlex.join(["docclean", *sys.argv[1:]])
