"""Training and fine-tuning on paired pages: data, the model to start from, the loop, the card."""

from __future__ import annotations

import datetime as dt
import math
import platform
import shlex
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from docclean import __version__
from docclean.backend import tensorflow
from docclean.errors import DataError, UsageError
from docclean.evaluation.metrics import gray_scores, is_bilevel, mean_scores
from docclean.models.architectures import (
    ARCHITECTURES,
    Architecture,
    flops_per_pixel,
    get_architecture,
    grow,
    grows_into,
    unwrap,
)
from docclean.models.card import ModelCard
from docclean.models.store import LoadedModel, save_model
from docclean.progress import Reporter
from docclean.training.config import (
    DECISION_LEVELS,
    DEFAULT_ARCH,
    DEFAULT_EVAL_EVERY,
    REGULARIZER_WEIGHTS,
    SCHEDULES,
    SYNTHETIC_SIZE,
    WARMUP_SHARE,
    TrainConfig,
)
from docclean.training.data import (
    MixedSampler,
    Pair,
    find_pairs,
    is_pack,
    load_pairs,
    pack_pairs,
    read_pack,
    report_problems,
    split_validation,
    steps_for_one_pass,
)

__all__ = ["SCHEDULES", "TrainConfig", "pack", "score_pages", "train"]


def train(
    noisy_dir: Path, clean_dir: Path | None, config: TrainConfig, reporter: Reporter
) -> dict[str, Any]:
    """Train ``config.arch`` on paired pages; writes the model and card, returns the card.

    The pairs are the images in the two folders, matched by name, or the pack ``noisy_dir``
    written by :func:`pack` (``clean_dir`` None).
    """
    config.validate()
    start = _starting_point(config)
    arch = get_architecture(start.architecture if start else config.arch or DEFAULT_ARCH)
    patch_size = arch.train_patch_size if config.patch_size is None else config.patch_size
    batch_size = arch.train_batch_size if config.batch_size is None else config.batch_size
    config = replace(config, arch=arch.name, patch_size=patch_size, batch_size=batch_size)
    if patch_size < 8 or patch_size % arch.stride:
        raise UsageError(
            f"--patch-size must be at least 8 and a multiple of {arch.stride} for {arch.name}"
        )
    if config.decision_level is not None and arch.views == 1:
        raise UsageError(
            f"--decision-level needs a -mirrored binarizer, not {arch.name}",
            "train one with --arch fast-unet-mirrored (or fine-tune one)",
        )
    train_pairs, val_pairs = _read_pairs(noisy_dir, clean_dir, config, reporter)
    bilevel = all(is_bilevel(p.clean) for p in train_pairs)
    if config.decision_level == "auto" and not (
        val_pairs and all(is_bilevel(p.clean) for p in val_pairs)
    ):
        raise UsageError(
            "--decision-level auto needs black-and-white validation pages to choose on",
            "give --val pages, or a number (a twin's level) for a run without them",
        )
    synthetic = _synthetic_pairs(config, reporter, historical=bilevel)
    levels = config.input_levels or (start.loaded.card.input_levels if start else "as-scanned")
    if levels == "paper-ink":  # the validation pages are put so by the scorer's PageCleaner
        _put_at_full_contrast(train_pairs)
        _put_at_full_contrast(synthetic)
    reporter.info(
        f"training {arch.name} on {len(train_pairs)} page pair(s)"
        + (f" and {len(synthetic)} synthetic" if synthetic else "")
        + f", validating on {len(val_pairs)}"
    )

    tf = tensorflow(config.device)
    import keras

    from docclean.models.regularizers import with_regularizer
    from docclean.training.distribute import training_strategy
    from docclean.training.loop import run_loop
    from docclean.training.losses import get_loss

    # two or more GPUs: MirroredStrategy splits each batch (--batch-size is the global batch)
    strategy = training_strategy(tf)
    replicas = int(strategy.num_replicas_in_sync)
    with strategy.scope():
        keras.utils.set_random_seed(config.seed)
        if start is None:
            model = arch.build()
        elif replicas > 1:  # variables must be made in the strategy's scope: a copy of the start
            model = arch.build()
            model.set_weights(start.loaded.model.get_weights())
        else:
            model = start.loaded.model
        weight = config.regularizer_weight
        if weight is None:
            weight = REGULARIZER_WEIGHTS[config.regularizer]
        trainable = with_regularizer(model, arch, config.regularizer, weight)
        sampler = MixedSampler(
            train_pairs, synthetic, config.synthetic_share, patch_size, config.seed, config.augment
        )
        trainable.compile(
            optimizer=keras.optimizers.Adam(config.learning_rate), loss=get_loss(config.loss)
        )

        plan = _plan(config, sampler.pixels, bilevel, bool(val_pairs))
        draft = replace(
            ModelCard.draft(config.output.stem, arch),
            output_kind="bilevel" if bilevel else "grayscale",
            input_levels=levels,
        )
        loaded = LoadedModel(config.output.stem, config.output, draft, model)
        scorer = _PageScorer(loaded, val_pairs, config.device) if val_pairs else None
        started_from = None
        if start is not None and scorer is not None:
            started_from = scorer.model_scores()
            reporter.info(
                f"started from {start.loaded.name}: {_figure(started_from)} on the validation pages"
            )
        result = run_loop(
            model,
            trainable,
            lambda step: sampler.batch_at(step, batch_size),
            plan,
            scorer.model_scores if scorer else None,
            config.run_dir,
            config.recipe(),
            config.resume,
            reporter,
        )
    decision = (
        _set_decision_level(model, config, scorer, reporter) if config.decision_level else None
    )
    validation = scorer.report() if scorer else None
    if validation is not None and started_from is not None:
        validation["started_from"] = started_from
        reporter.info(f"started from: {_figure(started_from)}; now: {_figure(validation['model'])}")
    pages = (str(noisy_dir), "" if clean_dir is None else str(clean_dir))
    card = _card(config, pages, arch, model, start, (train_pairs, val_pairs), plan, result)
    card["validation"] = validation
    card["output_kind"] = "bilevel" if bilevel else "grayscale"
    card["input_levels"] = levels
    card["training"]["replicas"] = replicas
    if decision is not None:
        card["training"]["decision_level"] = decision
    saved = save_model(model, config.output, card, overwrite=config.overwrite)
    reporter.info(f"wrote {config.model_path} and its card")
    return saved.to_dict()


def pack(
    noisy_dir: Path, clean_dir: Path, output: Path, config: TrainConfig, reporter: Reporter
) -> int:
    """Write the pairs of two folders into one pack that ``train`` reads fast; returns the pairs."""
    from docclean.errors import OutputError

    if output.suffix != ".npz":
        raise UsageError(f"--pack {output}: the pack's name must end in .npz")
    if output.exists() and not config.overwrite:
        raise OutputError(f"{output} already exists", "choose another name or pass --overwrite")
    paths, problems = find_pairs(noisy_dir, clean_dir)
    report_problems(problems, config.skip_bad_pairs, reporter.warn)
    pairs, bad = load_pairs(paths)
    report_problems(bad, config.skip_bad_pairs, reporter.warn)
    if not pairs:
        raise DataError(f"no image pairs found in {noisy_dir} and {clean_dir}")
    size = pack_pairs(pairs, output)
    reporter.info(f"packed {len(pairs)} pair(s) into {output} ({size / 1e6:.1f} MB)")
    return len(pairs)


def _read_pairs(
    noisy_dir: Path, clean_dir: Path | None, config: TrainConfig, reporter: Reporter
) -> tuple[list[Pair], list[Pair]]:
    """The training and validation pairs, from folders or a pack, split by ``--val``."""
    if clean_dir is None:
        if not is_pack(noisy_dir):
            raise DataError(f"{noisy_dir}: not a pack of page pairs (.npz) nor a folder")
        return split_validation(
            read_pack(noisy_dir), config.val_names, config.val_fraction, config.seed
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
    return train_pairs, val_pairs


def _synthetic_pairs(config: TrainConfig, reporter: Reporter, historical: bool) -> list[Pair]:
    """``--synthetic`` damaged rendered pages and ``--synthetic-undamaged`` pages paired with
    themselves (which teach a model to leave clean text as it is). ``historical`` (the real
    targets are black and white): binarization pairs, with black-and-white targets too."""
    if not (config.synthetic or config.synthetic_undamaged):
        return []
    from docclean.synth.generator import (
        parse_chances,
        render_page,
        resolve_kinds,
        synthetic_pairs,
    )
    from docclean.synth.render import parse_scale, parse_size

    size = parse_size(config.synthetic_size) if config.synthetic_size else SYNTHETIC_SIZE
    dpi = parse_scale(config.synthetic_dpi) if config.synthetic_dpi else None
    reporter.info(
        f"rendering {config.synthetic + config.synthetic_undamaged} synthetic page(s) "
        f"of {size[1]}x{size[0]} px" + (f" set at {dpi} dpi" if dpi else "")
    )
    rng = np.random.default_rng(config.seed)
    kinds = resolve_kinds(exclude=config.synthetic_exclude)
    pairs = synthetic_pairs(
        config.synthetic,
        rng,
        kinds=kinds,
        size=size,
        dpi=dpi,
        historical=historical,
        good_share=config.synthetic_good_share,
        chances=parse_chances(config.synthetic_chance),
        tones=config.synthetic_tones or 0.0,
        notes=config.synthetic_notes or 0.0,
    )
    for i in range(config.synthetic_undamaged):
        page = render_page(rng, size, dpi.draw(rng) if dpi else None)
        if historical:
            page = (page >= 0.5).astype(np.float32)
        pairs.append(Pair(f"undamaged-{i:05d}", page, page))
    return pairs


def _put_at_full_contrast(pairs: list[Pair]) -> None:
    """Put both pages of each pair at full contrast, in place, as a ``paper-ink`` model takes them:
    the noisy page for the model, the target so that rendered gray ink is learnt as black. One pair
    at a time, so that memory does not double."""
    from docclean.inference.levels import normalize_levels

    for i, pair in enumerate(pairs):
        pairs[i] = Pair(pair.name, normalize_levels(pair.noisy), normalize_levels(pair.clean))


def _plan(config: TrainConfig, pixels: int, bilevel: bool, validated: bool) -> Any:
    """The loop's plan: steps, evaluations, schedule and what decides the best weights."""
    from docclean.training.loop import LoopPlan

    assert config.patch_size is not None and config.batch_size is not None
    if config.steps is not None:
        total = config.steps
        eval_every = min(config.eval_every or DEFAULT_EVAL_EVERY, total)
        steps_per_epoch = None
        stop_patience = None
    else:
        steps_per_epoch = config.steps_per_epoch or steps_for_one_pass(
            pixels, config.patch_size, config.batch_size
        )
        total = config.epochs * steps_per_epoch
        eval_every = steps_per_epoch
        stop_patience = config.patience
    warmup = config.warmup if config.warmup is not None else max(1, round(WARMUP_SHARE * total))
    monitor, higher = ("fm", True) if bilevel and validated else ("rmse", False)
    return LoopPlan(
        total_steps=total,
        eval_every=eval_every,
        learning_rate=config.learning_rate,
        schedule=config.schedule,
        warmup=min(warmup, total),
        plateau_patience=max(1, config.patience // 2),
        stop_patience=stop_patience,
        ema=config.ema,
        keep=config.keep,
        monitor=monitor if validated else "loss",
        higher_is_better=higher and validated,
        checkpoint_every=config.checkpoint_every,
        steps_per_epoch=steps_per_epoch,
    )


def _set_decision_level(
    model: Any, config: TrainConfig, scorer: _PageScorer | None, reporter: Reporter
) -> dict[str, Any]:
    """Set a ``-mirrored`` binarizer's decision level (its :class:`Recentre` layer) as
    ``--decision-level`` asks: a given number, or the level of :data:`DECISION_LEVELS` whose
    thresholded outputs score the best mean FM on the validation pages."""
    from docclean.evaluation.metrics import fmeasure
    from docclean.models.layers import Recentre

    layer = next(layer for layer in model.layers if isinstance(layer, Recentre))
    before = float(layer.level.numpy())
    level = config.decision_level_value()
    entry: dict[str, Any] = {"level": level, "before": round(before, 4), "chosen_on": "given"}
    if level is None:
        assert scorer is not None  # checked before training: auto needs validation pages
        layer.level.assign(0.5)  # the identity: the views' average as it is
        outputs = [(scorer.cleaner.clean(p.noisy), p.clean) for p in scorer.pairs]
        by_level = {
            lv: float(np.mean([fmeasure((out >= lv).astype(np.float32), t) for out, t in outputs]))
            for lv in DECISION_LEVELS
        }
        level = max(by_level, key=lambda lv: by_level[lv])
        entry.update(
            level=level,
            chosen_on="validation pages (best mean FM)",
            fm_by_level={f"{lv:.2f}": round(fm, 3) for lv, fm in by_level.items()},
        )
    layer.level.assign(level)
    reporter.info(f"decision level {level:.2f} (was {before:.2f}; {entry['chosen_on']})")
    return entry


def _figure(scores: dict[str, float]) -> str:
    return f"FM {scores['fm']:.2f}" if "fm" in scores else f"RMSE {scores['rmse']:.5f}"


def _card(
    config: TrainConfig,
    pages: tuple[str, str],
    arch: Architecture,
    model: Any,
    start: _Start | None,
    pairs: tuple[list[Pair], list[Pair]],
    plan: Any,
    result: Any,
) -> dict[str, Any]:
    """The card's facts about the model and how it was trained (``save_model`` completes it)."""
    from docclean.synth.generator import never_seen_kinds, parse_chances

    state = result.state
    this_run = {
        "synthetic_pairs": config.synthetic,
        "synthetic_excluded_kinds": config.synthetic_exclude,
    }
    start_training = start.loaded.card.training if start is not None else None
    train_pairs, val_pairs = pairs
    command = config.command or command_line(config, *pages)
    commands = [*(start_training.commands if start_training else []), command]
    epochs = (
        {
            "steps_per_epoch": plan.steps_per_epoch,
            "epochs_requested": config.epochs,
            "epochs_run": state.step // plan.steps_per_epoch,
            "best_epoch": result.kept_step // plan.steps_per_epoch,
        }
        if plan.steps_per_epoch
        else {}
    )
    if config.schedule == "cosine":
        optimizer = (
            f"adam lr={config.learning_rate:g}, {plan.warmup} warm-up steps, cosine decay to 0 "
            f"over {plan.total_steps} steps"
        )
    else:
        optimizer = f"adam lr={config.learning_rate:g}, schedule plateau"
    weight = config.regularizer_weight
    if weight is None:
        weight = REGULARIZER_WEIGHTS[config.regularizer]
    noisy, clean = pages
    return {
        "architecture": arch.name,
        "architecture_summary": arch.summary,
        "description": config.description,
        "parameters": int(model.count_params()),
        "flops_per_pixel": flops_per_pixel(model),
        "input": "single-channel grayscale page, float32 in [0, 1], any size",
        "training": {
            "noisy_dir": noisy,
            "clean_dir": clean,
            "train_pages": [p.name for p in train_pairs],
            "synthetic_pairs": config.synthetic,
            "synthetic_undamaged_pages": config.synthetic_undamaged,
            "synthetic_share": config.synthetic_share,
            "synthetic_excluded_kinds": config.synthetic_exclude,
            "synthetic_size": config.synthetic_size or "x".join(map(str, SYNTHETIC_SIZE[::-1])),
            "synthetic_dpi": config.synthetic_dpi,
            "synthetic_good_share": config.synthetic_good_share,
            **({"synthetic_tones": config.synthetic_tones} if config.synthetic_tones else {}),
            **({"synthetic_notes": config.synthetic_notes} if config.synthetic_notes else {}),
            **(
                {"synthetic_chances": parse_chances(config.synthetic_chance)}
                if config.synthetic_chance
                else {}
            ),
            "never_seen_kinds": never_seen_kinds(
                this_run,
                {"never_seen_kinds": start_training.never_seen_kinds} if start_training else None,
            ),
            "validation_pages": [p.name for p in val_pairs],
            "patch_size": config.patch_size,
            "batch_size": config.batch_size,
            "steps_run": state.step,
            **epochs,
            "kept_step": result.kept_step,
            "kept_because": result.kept_because,
            "stopped_early": state.stopped_early,
            "resumed_at_steps": state.resumed_at,
            "loss": config.loss,
            "regularizer": {"kind": config.regularizer, "weight": weight},
            "init_from": _init_from(start),
            "optimizer": optimizer,
            "schedule": config.schedule,
            "ema": config.ema,
            "augment": config.augment,
            "seed": config.seed,
            "seconds": round(state.seconds, 1),
            "trainer": f"docclean train, {_device()}",
            "commands": commands,
            "history": state.history,
            **config.extra,
        },
        "versions": _versions(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "config": {k: str(v) for k, v in asdict(config).items() if k not in ("extra",)},
    }


def command_line(config: TrainConfig, noisy: str, clean: str) -> str:
    """A `docclean train` command for ``config`` (used when no command line was given)."""
    args = ["docclean", "train"]
    args += [noisy] if not clean else ["--noisy", noisy, "--clean", clean]
    defaults = TrainConfig(output=config.output)
    skipped = {"output", "extra", "command", "resume", "overwrite", "device", "val_names"}
    for name, value in asdict(config).items():
        if name in skipped or value == getattr(defaults, name):
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag)
        elif isinstance(value, list):
            args += [flag, ",".join(value) or "none"]
        elif value is not None:
            args += [flag, str(value)]
    if config.val_names is not None:
        args += ["--val", ",".join(config.val_names)]
    args += ["-o", str(config.output)]
    return shlex.join(args)


def _device() -> str:
    import tensorflow as tf

    gpus = tf.config.get_visible_devices("GPU")
    return f"{len(gpus)} GPU(s), TensorFlow" if gpus else "CPU, TensorFlow"


class _PageScorer:
    """Whole validation pages cleaned as `docclean clean` cleans them (tiled), then scored."""

    def __init__(self, loaded: LoadedModel, pairs: list[Pair], device: Any) -> None:
        from docclean.evaluation.metrics import bilevel_scores
        from docclean.inference.cleaner import PageCleaner

        self.cleaner = PageCleaner(loaded, device=device)
        self.pairs = pairs
        self.bilevel = all(is_bilevel(p.clean) for p in pairs)
        self.score = bilevel_scores if self.bilevel else gray_scores

    def model_scores(self) -> dict[str, float]:
        rows = [self.score(self.cleaner.clean(p.noisy), p.clean) for p in self.pairs]
        return _rounded(mean_scores(rows))

    def report(self) -> dict[str, Any]:
        """The model's scores beside the reference (Otsu for bilevel targets, else none)."""
        from docclean.evaluation import baselines

        if self.bilevel:
            reference = "otsu"
            rows = [self.score(baselines.otsu(p.noisy), p.clean) for p in self.pairs]
        else:
            reference = "no_cleaning"
            rows = [self.score(p.noisy, p.clean) for p in self.pairs]
        return {
            "pages": len(self.pairs),
            "model": self.model_scores(),
            reference: _rounded(mean_scores(rows)),
        }


@dataclass(frozen=True)
class _Start:
    """The model a fine-tuning run starts from, grown into ``--arch`` if that was asked for."""

    loaded: LoadedModel
    architecture: str
    grown_from: str | None = None


def _starting_point(config: TrainConfig) -> _Start | None:
    """The model to fine-tune (``--init-from``), checked against ``--arch`` when both are given.

    An ``--arch`` that the model's architecture grows into (``tone-unet-lin`` from ``tone-unet``,
    say) starts from the model's weights, its added layers as the identity (:func:`grow`); the base
    of a ``-mirrored`` model (``fast-unet`` from ``fast-unet-mirrored``) from its net (:func:`unwrap`).
    """
    if config.init_from is None:
        return None
    from docclean.models.store import load_model

    start = load_model(config.init_from)
    source = start.card.architecture
    if config.arch is None or config.arch == source:
        return _Start(start, source)
    arch = get_architecture(config.arch)
    wrapper = get_architecture(source)
    if wrapper.views > 1 and wrapper.grows_from == arch.name:
        plain = LoadedModel(start.name, start.path, start.card, unwrap(start.model, arch))
        return _Start(plain, arch.name, grown_from=source)
    if not grows_into(source, arch):
        growable = [a.name for a in ARCHITECTURES.values() if grows_into(source, a)]
        hint = f" or grow it into {', '.join(growable)}" if growable else ""
        raise UsageError(
            f"--arch {config.arch} differs from {start.name}'s architecture {source}",
            f"leave --arch out when fine-tuning{hint}",
        )
    grown = LoadedModel(start.name, start.path, start.card, grow(start.model, arch))
    return _Start(grown, arch.name, grown_from=source)


def _init_from(start: _Start | None) -> dict[str, str] | None:
    """The card's ``init_from``: the starting model's name, sha256 and, if grown, its architecture."""
    if start is None:
        return None
    entry = {"name": start.loaded.name, "sha256": start.loaded.card.sha256}
    if start.grown_from:
        entry["grown_from"] = start.grown_from
    return entry


def score_pages(loaded: LoadedModel, pairs: list[Pair]) -> dict[str, Any]:
    """Whole-page scores of the model beside a reference method, averaged over ``pairs``.

    Grayscale targets: RMSE/PSNR/SSIM, beside no cleaning. Bilevel targets (all pure black and
    white): FM, pseudo-FM, PSNR and DRD of the output thresholded at 0.5, beside Otsu.
    """
    return _PageScorer(loaded, pairs, "auto").report()


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    """Scores to 5 decimals; one that is not a finite number (the PSNR of a page matched
    exactly) is left out, since a card holds finite numbers only."""
    return {k: round(v, 5) for k, v in scores.items() if math.isfinite(v)}


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
