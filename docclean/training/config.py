"""Every `docclean train` option in one dataclass: defaults live here, validated before TensorFlow loads.

Only the standard library is imported at module level, so the CLI can read the defaults for its
help texts without loading NumPy or TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from docclean.errors import OutputError, UsageError
from docclean.models.card import INPUT_LEVELS

DEFAULT_ARCH = "tone-unet"
DEFAULT_AUGMENT = ("flip", "tone")
SYNTHETIC_SIZE = (768, 768)  # rendered pages for --synthetic: (height, width) px
# --regularizer choices and their default --regularizer-weight (docclean.models.regularizers applies them)
REGULARIZER_WEIGHTS = {"none": 0.0, "sparse": 1e-4, "contractive": 1e-4}
SCHEDULES = {
    "plateau": "halve the learning rate when validation stalls for half of --patience evaluations",
    "cosine": "warm up over --warmup steps, then cosine decay to 0 by the last step",
}
KEEP = {
    "best": "the weights that scored best on the validation pages (the last ones without any)",
    "last": "the weights of the last step",
}
WARMUP_SHARE = 0.02  # cosine warm-up without --warmup: this share of the run's steps
MIN_LEARNING_RATE = 1e-5  # the plateau schedule halves the rate down to this
DEFAULT_EVAL_EVERY = 500  # --steps runs: steps between validation scores (at most the run's length)
DECISION_LEVELS = tuple(round(0.3 + 0.05 * k, 2) for k in range(13))
"""``--decision-level auto`` tries these (0.30 to 0.90) on the validation pages."""
RUN_SUFFIX = ".run"  # the folder of checkpoints beside the model: NAME.run/


@dataclass
class TrainConfig:
    """Every training option, validated once; defaults live here and nowhere else."""

    output: Path
    arch: str | None = None
    """Default: :data:`DEFAULT_ARCH`, or the ``init_from`` model's architecture."""
    init_from: str | None = None
    loss: str = "mse"
    regularizer: str = "none"
    regularizer_weight: float | None = None
    epochs: int = 30
    steps: int | None = None
    """Run exactly this many steps (scored every ``eval_every``) instead of epochs."""
    eval_every: int | None = None
    """``steps`` runs: steps between validation scores [default: :data:`DEFAULT_EVAL_EVERY`]."""
    patch_size: int | None = None
    """Default: the architecture's ``train_patch_size``."""
    batch_size: int | None = None
    """Default: the architecture's ``train_batch_size``."""
    steps_per_epoch: int | None = None
    learning_rate: float = 1e-3
    schedule: str = "plateau"
    """A name from :data:`SCHEDULES`."""
    warmup: int | None = None
    """Cosine warm-up steps [default: :data:`WARMUP_SHARE` of the run's steps]."""
    patience: int = 6
    """Epoch runs: evaluations without improvement before stopping (plateau: half of it)."""
    ema: float = 0.0
    """Decay of an exponential moving average of the weights (0: none); the average is scored
    and saved."""
    keep: str = "best"
    """A name from :data:`KEEP`."""
    decision_level: str | None = None
    """A ``-mirrored`` binarizer's decision level set after training: ``auto`` (the level of
    :data:`DECISION_LEVELS` with the best FM on the validation pages) or a number in (0, 1);
    None keeps the model's (0.5 for a new one)."""
    input_levels: str | None = None
    """One of :data:`docclean.models.card.INPUT_LEVELS`: ``paper-ink`` trains (and the model
    cleans) on pages put at full contrast; None: the starting model's, ``as-scanned`` when new."""
    seed: int = 0
    augment: list[str] = field(default_factory=lambda: list(DEFAULT_AUGMENT))
    """Names from :data:`docclean.training.data.AUGMENTATIONS`; empty for none."""
    val_names: list[str] | None = None
    val_fraction: float = 0.1
    synthetic: int = 0
    synthetic_share: float | None = None
    """Share of each batch's patches drawn from the synthetic pairs [default: by page area]."""
    synthetic_undamaged: int = 0
    synthetic_exclude: list[str] = field(default_factory=list)
    synthetic_size: str | None = None
    """Rendered synthetic pages' size, ``WxH`` px [default: :data:`SYNTHETIC_SIZE`]; with
    ``synthetic_dpi`` the window cut from a page set at that resolution."""
    synthetic_dpi: str | None = None
    """Resolutions synthetic pages are set at (``300``, ``150-600``, ``150,300,600``); type at its
    real size (pt * dpi / 72 px). Default: a whole page fitted to ``synthetic_size``."""
    synthetic_good_share: float | None = None
    """Share of the ``synthetic`` pages that are good ones (undamaged, or a good light scan whose
    target is the pure page), the rest damaged [default: each kind's own chance, about 18 %]."""
    synthetic_tones: float | None = None
    """Share of the rendered ``synthetic`` office pages given gray that is part of the page (tinted
    headings, shaded boxes), kept in their targets [default: none]."""
    synthetic_notes: float | None = None
    """Share of the rendered ``synthetic`` office pages given handwritten notes in gray across
    their print, kept in their targets [default: none]."""
    synthetic_chance: str | None = None
    """``KIND=P,...``: how often a damaged synthetic page gets each named kind, replacing the
    kind's usual chance (``docclean.synth.generator.CHANCE``)."""
    checkpoint_every: int = 200
    resume: bool = False
    skip_bad_pairs: bool = False
    overwrite: bool = False
    description: str = ""
    device: Literal["auto", "cpu", "gpu"] = "auto"
    command: str | None = None
    """The command line that asked for this run (recorded in the card)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def model_path(self) -> Path:
        return self.output.with_suffix(".keras")

    @property
    def run_dir(self) -> Path:
        """The folder beside the model where an unfinished run keeps its checkpoints."""
        return self.output.with_suffix(RUN_SUFFIX)

    def validate(self) -> None:
        from docclean.models.architectures import get_architecture
        from docclean.models.store import card_path
        from docclean.training.data import check_augment
        from docclean.training.losses import LOSSES

        if self.loss not in LOSSES:
            raise UsageError(f"unknown loss {self.loss!r}", f"choose one of: {', '.join(LOSSES)}")
        for name, value, known in (
            ("schedule", self.schedule, SCHEDULES),
            ("regularizer", self.regularizer, REGULARIZER_WEIGHTS),
            ("keep", self.keep, KEEP),
        ):
            if value not in known:
                raise UsageError(f"unknown {name} {value!r}", f"choose one of: {', '.join(known)}")
        weight = self.regularizer_weight
        if self.regularizer != "none" and weight is not None and weight <= 0:
            raise UsageError(
                f"--regularizer {self.regularizer} needs a positive --regularizer-weight"
            )
        get_architecture(self.arch or DEFAULT_ARCH)  # a known name
        if self.epochs < 1 or (self.batch_size is not None and self.batch_size < 1):
            raise UsageError("--epochs and --batch-size must be at least 1")
        for name in ("steps", "eval_every", "steps_per_epoch", "checkpoint_every"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
        if self.warmup is not None and self.warmup < 0:
            raise UsageError("--warmup must be 0 or more")
        if self.decision_level is not None:
            self.decision_level_value()
        if self.input_levels is not None and self.input_levels not in INPUT_LEVELS:
            raise UsageError(
                f"--input-levels must be one of {', '.join(INPUT_LEVELS)}, not {self.input_levels!r}"
            )
        if not 0.0 <= self.ema < 1.0:
            raise UsageError(f"--ema must be in [0, 1), not {self.ema}", "0.999 is usual")
        if not (self.learning_rate >= 0 and self.learning_rate < float("inf")):
            raise UsageError(f"--learning-rate must be 0 or more, not {self.learning_rate}")
        check_augment(self.augment)  # names known
        if self.synthetic < 0 or self.synthetic_undamaged < 0:
            raise UsageError("--synthetic and --synthetic-undamaged must be 0 or more")
        share = self.synthetic_share
        if share is not None and not 0.0 <= share <= 1.0:
            raise UsageError(f"--synthetic-share must be in [0, 1], not {share}")
        if share is not None and not (self.synthetic or self.synthetic_undamaged):
            raise UsageError("--synthetic-share needs --synthetic or --synthetic-undamaged pages")
        good = self.synthetic_good_share
        if good is not None and not 0.0 <= good <= 1.0:
            raise UsageError(f"--synthetic-good-share must be in [0, 1], not {good}")
        if good is not None and not self.synthetic:
            raise UsageError("--synthetic-good-share needs --synthetic pages")
        if self.synthetic_size is not None or self.synthetic_dpi is not None:
            from docclean.synth.render import parse_scale, parse_size

            if self.synthetic_size is not None:
                parse_size(self.synthetic_size)
            if self.synthetic_dpi is not None:
                parse_scale(self.synthetic_dpi)
        if self.synthetic_exclude:
            from docclean.synth.generator import resolve_kinds

            resolve_kinds(exclude=self.synthetic_exclude)  # names known, some kind left
        for option, share in (
            ("--synthetic-tones", self.synthetic_tones),
            ("--synthetic-notes", self.synthetic_notes),
        ):
            if share is not None and not 0.0 <= share <= 1.0:
                raise UsageError(f"{option} must be in [0, 1], not {share}")
            if share and not (self.synthetic and self.synthetic_dpi):
                raise UsageError(f"{option} needs --synthetic pages set at --synthetic-dpi")
        if self.synthetic_chance is not None:
            from docclean.synth.generator import parse_chances

            if not self.synthetic:
                raise UsageError("--synthetic-chance needs --synthetic pages")
            parse_chances(self.synthetic_chance)
        if not 0.0 <= self.val_fraction < 1.0:
            raise UsageError(f"--val-fraction must be in [0, 1), not {self.val_fraction}")
        path = self.model_path
        if not self.overwrite and (path.exists() or card_path(path).exists()):
            raise OutputError(f"{path} already exists", "choose another name or pass --overwrite")
        _check_writable(path.parent)

    def decision_level_value(self) -> float | None:
        """``decision_level`` as a number; None for ``auto`` (or none asked for)."""
        level = self.decision_level
        if level is None or level == "auto":
            return None
        try:
            value = float(level)
        except ValueError:
            value = float("nan")
        if not 0.0 < value < 1.0:
            raise UsageError(
                f"--decision-level must be auto or a number in (0, 1), not {level!r}",
                "auto picks the level with the best FM on the validation pages",
            )
        return value

    def recipe(self) -> dict[str, str]:
        """The options that decide what a run computes: a resumed run must match them."""
        ignored = {"resume", "overwrite", "description", "device", "command", "extra"}
        return {f.name: str(getattr(self, f.name)) for f in fields(self) if f.name not in ignored}


def _check_writable(folder: Path) -> None:
    """Fail before training, not after it, when the model's folder cannot be made or written."""
    import os

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the model's folder ({exc.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: the model's folder is not writable")


def default_of(name: str) -> Any:
    """The default of :class:`TrainConfig`'s field ``name`` (for the CLI's help texts)."""
    for f in fields(TrainConfig):
        if f.name == name:
            return f.default_factory() if callable(f.default_factory) else f.default
    raise KeyError(name)
