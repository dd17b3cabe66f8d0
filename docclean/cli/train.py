"""`docclean train`: fit a model on paired pages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from docclean.cli.common import (
    DeviceChoice,
    DeviceOption,
    errors_to_exit_codes,
)
from docclean.progress import Reporter


def train(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Model to write: NAME.keras + NAME.json.")
    ],
    data: Annotated[
        Path | None,
        typer.Argument(help="A folder holding noisy/ and clean/ (or use --noisy/--clean)."),
    ] = None,
    noisy: Annotated[Path | None, typer.Option(help="Folder of noisy pages.")] = None,
    clean: Annotated[
        Path | None, typer.Option(help="Folder of clean targets, same file names.")
    ] = None,
    arch: Annotated[
        str | None,
        typer.Option(help="Architecture (see `docclean architectures`) \\[default: tone-unet]."),
    ] = None,
    init_from: Annotated[
        str | None,
        typer.Option(
            help="Fine-tune this model (shipped name or .keras path) on your pairs; with --arch, "
            "grow it into that larger architecture first (tone-unet-fine, -lin or -edge from "
            "tone-unet; fast-unet-edge or -mirrored from fast-unet)."
        ),
    ] = None,
    loss: Annotated[str, typer.Option(help="mse, bce, l1, mse+ssim or mse+edge.")] = "mse",
    regularizer: Annotated[
        str,
        typer.Option(
            help="none; sparse (L1 activity penalty on the bottleneck); or contractive (penalty "
            "on the bottleneck's Jacobian)."
        ),
    ] = "none",
    regularizer_weight: Annotated[
        float | None,
        typer.Option(help="Weight of the --regularizer penalty \\[default: 1e-4].", min=0),
    ] = None,
    epochs: Annotated[
        int, typer.Option(help="Most epochs to run (early stopping may end sooner).")
    ] = 30,
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
    steps_per_epoch: Annotated[
        int | None, typer.Option(help="Steps per epoch \\[default: about one pass over the pages].")
    ] = None,
    learning_rate: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
    schedule: Annotated[
        str,
        typer.Option(
            help="Learning-rate schedule: plateau (halve it when validation stalls) or cosine "
            "(a short warm-up, then a cosine decay to 0 by the last epoch)."
        ),
    ] = "plateau",
    patience: Annotated[int, typer.Option(help="Epochs without improvement before stopping.")] = 6,
    val: Annotated[
        str | None,
        typer.Option(help="Validation pages: comma-separated names or @FILE with one name a line."),
    ] = None,
    val_fraction: Annotated[
        float, typer.Option(help="Fraction of whole pages held out for validation (when no --val).")
    ] = 0.1,
    augment: Annotated[
        str,
        typer.Option(
            help="Patch augmentations, comma-separated, or none: flip (mirror), tone (jitter the "
            "noisy brightness and contrast), scale (resample 0.6x-1.6x, like another dpi)."
        ),
    ] = "flip,tone",
    seed: Annotated[int, typer.Option(help="Seed for weights, split and sampling.")] = 0,
    synthetic: Annotated[
        int, typer.Option(help="Mix in N synthetic pairs (rendered text, random dirt).")
    ] = 0,
    synthetic_exclude: Annotated[
        str | None,
        typer.Option(
            help="Degradation kinds the synthetic pairs never get, comma-separated (see "
            "`docclean synth --list-kinds`): to test generalization to a kind left out."
        ),
    ] = None,
    skip_bad_pairs: Annotated[
        bool, typer.Option(help="Warn about unpaired or mismatched files instead of stopping.")
    ] = False,
    description: Annotated[
        str, typer.Option(help="What the model is for (goes into its card).")
    ] = "",
    overwrite: Annotated[
        bool, typer.Option(help="Replace an existing model of that name.")
    ] = False,
    device: DeviceOption = DeviceChoice.auto,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the model card as JSON on stdout.")
    ] = False,
) -> None:
    """Train a model on paired noisy/clean pages (matched by file name)."""
    import json

    from docclean.synth.generator import parse_kind_list
    from docclean.training.data import pair_dirs, parse_augment, read_name_list
    from docclean.training.trainer import TrainConfig
    from docclean.training.trainer import train as run_training

    reporter = Reporter()
    with errors_to_exit_codes(reporter):
        noisy_dir, clean_dir = pair_dirs(data, noisy, clean)
        config = TrainConfig(
            output=output,
            arch=arch,
            init_from=init_from,
            loss=loss,
            regularizer=regularizer,
            regularizer_weight=regularizer_weight,
            epochs=epochs,
            patch_size=patch_size,
            batch_size=batch_size,
            steps_per_epoch=steps_per_epoch,
            learning_rate=learning_rate,
            schedule=schedule,
            patience=patience,
            seed=seed,
            augment=parse_augment(augment),
            val_names=read_name_list(val) if val is not None else None,
            val_fraction=val_fraction,
            synthetic=synthetic,
            synthetic_exclude=parse_kind_list(synthetic_exclude) or [],
            skip_bad_pairs=skip_bad_pairs,
            overwrite=overwrite,
            description=description,
            device=device.value,
        )
        card = run_training(noisy_dir, clean_dir, config, reporter)
    if json_out:
        print(json.dumps(card, indent=2))
