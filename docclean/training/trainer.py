"""Training and fine-tuning on paired pages: patch sampling, validation, early stopping, model card."""

from __future__ import annotations

import datetime as dt
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from docclean import __version__
from docclean.backend import Device, tensorflow
from docclean.errors import DataError, OutputError, UsageError
from docclean.evaluation.metrics import gray_scores, is_bilevel, mean_scores
from docclean.models.architectures import (
    ARCHITECTURES,
    flops_per_pixel,
    get_architecture,
    grow,
    grows_into,
)
from docclean.models.store import LoadedModel, card_path, save_model
from docclean.progress import Reporter
from docclean.training.data import (
    DEFAULT_AUGMENT,
    Pair,
    PatchSampler,
    check_augment,
    find_pairs,
    grid_patches,
    load_pairs,
    report_problems,
    split_validation,
    steps_for_one_pass,
)

DEFAULT_ARCH = "tone-unet"
SYNTHETIC_SIZE = (768, 768)  # rendered pages for --synthetic: (height, width) px
# --regularizer choices and their default --regularizer-weight (docclean.models.regularizers applies them)
REGULARIZER_WEIGHTS = {"none": 0.0, "sparse": 1e-4, "contractive": 1e-4}
SCHEDULES = {
    "plateau": "halve the learning rate when validation stalls for half of --patience epochs",
    "cosine": "warm up over the first 2 % of steps, then cosine decay to 0 by the last epoch",
}


@dataclass
class TrainConfig:
    """Every training option, validated once; defaults live here."""

    output: Path
    arch: str | None = None
    init_from: str | None = None
    loss: str = "mse"
    regularizer: str = "none"
    regularizer_weight: float | None = None
    epochs: int = 30
    patch_size: int | None = None
    """Default: the architecture's ``train_patch_size``."""
    batch_size: int | None = None
    """Default: the architecture's ``train_batch_size``."""
    steps_per_epoch: int | None = None
    learning_rate: float = 1e-3
    schedule: str = "plateau"
    """A name from :data:`SCHEDULES`."""
    patience: int = 6
    seed: int = 0
    augment: list[str] = field(default_factory=lambda: list(DEFAULT_AUGMENT))
    """Names from :data:`docclean.training.data.AUGMENTATIONS`; empty for none."""
    val_names: list[str] | None = None
    val_fraction: float = 0.1
    synthetic: int = 0
    synthetic_exclude: list[str] = field(default_factory=list)
    skip_bad_pairs: bool = False
    overwrite: bool = False
    description: str = ""
    device: Device = "auto"
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        from docclean.training.losses import LOSSES

        if self.loss not in LOSSES:
            raise UsageError(f"unknown loss {self.loss!r}", f"choose one of: {', '.join(LOSSES)}")
        if self.schedule not in SCHEDULES:
            raise UsageError(
                f"unknown schedule {self.schedule!r}", f"choose one of: {', '.join(SCHEDULES)}"
            )
        if self.regularizer not in REGULARIZER_WEIGHTS:
            raise UsageError(
                f"unknown regularizer {self.regularizer!r}",
                f"choose one of: {', '.join(REGULARIZER_WEIGHTS)}",
            )
        weight = self.regularizer_weight
        if self.regularizer != "none" and weight is not None and weight <= 0:
            raise UsageError(
                f"--regularizer {self.regularizer} needs a positive --regularizer-weight"
            )
        get_architecture(self.arch or DEFAULT_ARCH)  # a known name
        if self.epochs < 1 or (self.batch_size is not None and self.batch_size < 1):
            raise UsageError("--epochs and --batch-size must be at least 1")
        check_augment(self.augment)  # names known
        if self.synthetic < 0:
            raise UsageError("--synthetic must be 0 or more")
        if self.synthetic_exclude:
            from docclean.synth.generator import resolve_kinds

            resolve_kinds(exclude=self.synthetic_exclude)  # names known, some kind left
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise UsageError("--steps-per-epoch must be at least 1")
        path = self.output.with_suffix(".keras")
        if not self.overwrite and (path.exists() or card_path(path).exists()):
            raise OutputError(f"{path} already exists", "choose another name or pass --overwrite")


def train(
    noisy_dir: Path, clean_dir: Path, config: TrainConfig, reporter: Reporter
) -> dict[str, Any]:
    """Train ``config.arch`` on the pairs in the two folders; writes the model and card, returns the card."""
    config.validate()
    start = _starting_point(config)
    arch = get_architecture(start.card["architecture"] if start else config.arch or DEFAULT_ARCH)
    patch_size = arch.train_patch_size if config.patch_size is None else config.patch_size
    batch_size = arch.train_batch_size if config.batch_size is None else config.batch_size
    config = replace(config, arch=arch.name, patch_size=patch_size, batch_size=batch_size)
    if patch_size < 8 or patch_size % arch.stride:
        raise UsageError(
            f"--patch-size must be at least 8 and a multiple of {arch.stride} for {arch.name}"
        )
    paths, problems = find_pairs(noisy_dir, clean_dir)
    report_problems(problems, config.skip_bad_pairs, reporter.warn)
    if not paths:
        raise DataError(f"no image pairs found in {noisy_dir} and {clean_dir}")
    train_paths, val_paths = split_validation(
        paths, config.val_names, config.val_fraction, config.seed
    )
    train_pairs, bad_train = load_pairs(train_paths)
    val_pairs, bad_val = load_pairs(val_paths)
    report_problems(bad_train + bad_val, config.skip_bad_pairs, reporter.warn)
    if not train_pairs:
        raise DataError("none of the training pairs could be read")
    if config.synthetic:
        from docclean.synth.generator import resolve_kinds, synthetic_pairs

        reporter.info(f"making {config.synthetic} synthetic pair(s) from rendered text pages")
        rng = np.random.default_rng(config.seed)
        kinds = resolve_kinds(exclude=config.synthetic_exclude)
        train_pairs = train_pairs + synthetic_pairs(
            config.synthetic, rng, kinds=kinds, size=SYNTHETIC_SIZE
        )
    reporter.info(
        f"training {arch.name} on {len(train_pairs)} page pair(s), validating on {len(val_pairs)}"
    )

    tf = tensorflow(config.device)
    import keras

    from docclean.models.regularizers import with_regularizer
    from docclean.training.losses import get_loss

    keras.utils.set_random_seed(config.seed)
    model = start.model if start else arch.build()
    weight = config.regularizer_weight
    if weight is None:
        weight = REGULARIZER_WEIGHTS[config.regularizer]
    trainable = with_regularizer(model, arch, config.regularizer, weight)
    sampler = PatchSampler(train_pairs, patch_size, config.seed, config.augment)
    steps = config.steps_per_epoch or steps_for_one_pass(sampler.pixels, patch_size, batch_size)
    trainable.compile(
        optimizer=keras.optimizers.Adam(_learning_rate(config, steps)),
        loss=get_loss(config.loss),
        metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
    )
    shape = (batch_size, patch_size, patch_size, 1)
    dataset = tf.data.Dataset.from_generator(
        lambda: sampler.batches(batch_size),
        output_signature=(tf.TensorSpec(shape, tf.float32), tf.TensorSpec(shape, tf.float32)),
    ).prefetch(2)
    validation = grid_patches(val_pairs, patch_size) if val_pairs else None
    monitor = "val_rmse" if validation is not None else "loss"  # RMSE: what users are scored on
    callbacks: list[Any] = [
        keras.callbacks.EarlyStopping(
            monitor=monitor, patience=config.patience, restore_best_weights=True
        ),
        _progress_callback(reporter, config.epochs, steps),
    ]
    if config.schedule == "plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor, factor=0.5, patience=max(1, config.patience // 2), min_lr=1e-5
            )
        )
    started = time.perf_counter()
    try:
        history = trainable.fit(
            dataset,
            epochs=config.epochs,
            steps_per_epoch=steps,
            validation_data=validation,
            validation_batch_size=batch_size,
            callbacks=callbacks,
            verbose=0,
            shuffle=False,
        )
    except KeyboardInterrupt:
        reporter.warn("training interrupted; no model written")
        raise
    seconds = time.perf_counter() - started
    losses = history.history
    best_epoch = int(np.argmin(losses[monitor])) + 1

    loaded = LoadedModel(
        config.output.stem,
        config.output,
        {"receptive_radius": arch.receptive_radius, "stride": arch.stride},
        model,
    )
    validation_scores = score_pages(loaded, val_pairs) if val_pairs else None
    # bilevel: trained on black-and-white targets; its output is how likely a pixel is background,
    # and `clean --binarize` thresholds it at 0.5
    bilevel = all(is_bilevel(p.clean) for p in train_pairs)
    output_kind = "bilevel" if bilevel else "grayscale"
    from docclean.synth.generator import never_seen_kinds

    this_run = {
        "synthetic_pairs": config.synthetic,
        "synthetic_excluded_kinds": config.synthetic_exclude,
    }
    started_from = start.card.get("training") if start is not None else None
    never_seen = never_seen_kinds(this_run, started_from)
    card = {
        "architecture": arch.name,
        "architecture_summary": arch.summary,
        "description": config.description,
        "output_kind": output_kind,
        "parameters": int(model.count_params()),
        "flops_per_pixel": flops_per_pixel(model),
        "input": "single-channel grayscale page, float32 in [0, 1], any size",
        "training": {
            "noisy_dir": str(noisy_dir),
            "clean_dir": str(clean_dir),
            "train_pages": [p.name for p in train_pairs if not p.name.startswith("synthetic-")],
            "synthetic_pairs": config.synthetic,
            "synthetic_excluded_kinds": config.synthetic_exclude,
            "never_seen_kinds": never_seen,
            "validation_pages": [p.name for p in val_pairs],
            "patch_size": patch_size,
            "batch_size": batch_size,
            "steps_per_epoch": steps,
            "epochs_requested": config.epochs,
            "epochs_run": len(losses["loss"]),
            "best_epoch": best_epoch,
            "loss": config.loss,
            "regularizer": {"kind": config.regularizer, "weight": weight},
            "init_from": _init_from(start),
            "optimizer": f"adam lr={config.learning_rate}, schedule {config.schedule}",
            "augment": config.augment,
            "seed": config.seed,
            "seconds": round(seconds, 1),
            "history": {k: [round(float(v), 6) for v in vs] for k, vs in losses.items()},
            **config.extra,
        },
        "validation": validation_scores,
        "versions": _versions(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "config": {k: str(v) for k, v in asdict(config).items() if k not in ("extra",)},
    }
    card = save_model(model, config.output, card, overwrite=config.overwrite)
    reporter.info(f"wrote {config.output.with_suffix('.keras')} and its card")
    return card


def _learning_rate(config: TrainConfig, steps_per_epoch: int) -> Any:
    """Adam's learning rate: the number itself (``plateau``), or a cosine decay over the run."""
    if config.schedule == "plateau":
        return config.learning_rate
    import keras

    total = config.epochs * steps_per_epoch
    warmup = max(1, total // 50)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(1, total - warmup),
        alpha=0.0,
        warmup_target=config.learning_rate,
        warmup_steps=warmup,
    )


def _starting_point(config: TrainConfig) -> LoadedModel | None:
    """The model to fine-tune (``--init-from``), checked against ``--arch`` when both are given.

    An ``--arch`` that the model's architecture grows into (``tone-unet-lin`` from ``tone-unet``,
    say) starts from the model's weights, its added layers as the identity (:func:`grow`).
    """
    if config.init_from is None:
        return None
    from docclean.models.store import load_model

    start = load_model(config.init_from)
    source = start.card["architecture"]
    if config.arch is None or config.arch == source:
        return start
    arch = get_architecture(config.arch)
    if not grows_into(source, arch):
        growable = [a.name for a in ARCHITECTURES.values() if grows_into(source, a)]
        hint = f" or grow it into {', '.join(growable)}" if growable else ""
        raise UsageError(
            f"--arch {config.arch} differs from {start.name}'s architecture {source}",
            f"leave --arch out when fine-tuning{hint}",
        )
    card = {**start.card, "architecture": arch.name, "grown_from": source}
    return LoadedModel(start.name, start.path, card, grow(start.model, arch))


def _init_from(start: LoadedModel | None) -> dict[str, str] | None:
    """The card's ``init_from``: the starting model's name, sha256 and, if grown, its architecture."""
    if start is None:
        return None
    entry = {"name": start.name, "sha256": start.card["sha256"]}
    if "grown_from" in start.card:
        entry["grown_from"] = start.card["grown_from"]
    return entry


def score_pages(loaded: LoadedModel, pairs: list[Pair]) -> dict[str, Any]:
    """Whole-page scores of the model beside a reference method, averaged over ``pairs``.

    Grayscale targets: RMSE/PSNR/SSIM, beside no cleaning. Bilevel targets (all pure black and
    white): FM, pseudo-FM, PSNR and DRD of the output thresholded at 0.5, beside Otsu.
    """
    from docclean.evaluation import baselines as baselines
    from docclean.evaluation.metrics import bilevel_scores
    from docclean.inference.cleaner import PageCleaner

    cleaner = PageCleaner(loaded)
    bilevel = all(is_bilevel(p.clean) for p in pairs)
    score = bilevel_scores if bilevel else gray_scores
    reference, method = ("otsu", baselines.otsu) if bilevel else ("no_cleaning", None)
    model_rows = []
    reference_rows = []
    for pair in pairs:
        model_rows.append(score(cleaner.clean(pair.noisy), pair.clean))
        baseline = method(pair.noisy) if method else pair.noisy
        reference_rows.append(score(baseline, pair.clean))
    return {
        "pages": len(pairs),
        "model": _rounded(mean_scores(model_rows)),
        reference: _rounded(mean_scores(reference_rows)),
    }


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 5) for k, v in scores.items()}


def _versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "docclean": __version__,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _progress_callback(reporter: Reporter, epochs: int, steps: int) -> Any:
    """A Keras callback that shows epochs, loss and validation loss through ``reporter``."""
    import keras

    class ProgressCallback(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
            self._context = reporter.bar("epoch 1", steps)
            self._bar = self._context.__enter__()
            self._started = time.perf_counter()

        def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            self._bar.reset(steps, f"epoch {epoch + 1}/{epochs}")
            self._epoch_started = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
            loss = (logs or {}).get("loss")
            self._bar.advance(1, status=f"loss {loss:.5f}" if loss is not None else "")

        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            logs = {} if logs is None else logs
            # the rate this epoch ended with, in the card's history whatever the schedule
            logs.setdefault("learning_rate", float(self.model.optimizer.learning_rate))
            parts = [f"epoch {epoch + 1}/{epochs}", f"loss {logs.get('loss', float('nan')):.5f}"]
            if "val_loss" in logs:
                parts.append(f"val_loss {logs['val_loss']:.5f}")
            if "val_rmse" in logs:
                parts.append(f"val_rmse {logs['val_rmse']:.5f}")
            parts.append(f"lr {logs['learning_rate']:.1e}")
            parts.append(f"{time.perf_counter() - self._epoch_started:.0f} s")
            reporter.info("  ".join(parts))

        def on_train_end(self, logs: dict[str, float] | None = None) -> None:
            self._context.__exit__(None, None, None)

    return ProgressCallback()
