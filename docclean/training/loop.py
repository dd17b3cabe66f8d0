"""The training loop: steps, learning-rate schedules, EMA, validation, keep-best, checkpoints.

One loop serves epoch runs (an evaluation each epoch, early stopping) and step runs (exactly N
steps, an evaluation every K). Batch ``n`` is a function of the seed and ``n`` alone, and a
checkpoint holds weights, optimizer state, EMA, the best weights so far and the loop's own state,
so a run resumed from its last checkpoint computes what an uninterrupted run computes.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from docclean.errors import DataError, UsageError
from docclean.interrupts import deferred_interrupts
from docclean.io.atomic import atomic_path
from docclean.progress import Reporter
from docclean.training.config import MIN_LEARNING_RATE

CHECKPOINT = "checkpoint.npz"

Batch = tuple[np.ndarray, np.ndarray]
Scores = dict[str, float]


class TrainingDiverged(DataError):
    """The loss (or a validation score) stopped being a finite number: no model is written."""


@dataclass(frozen=True)
class LoopPlan:
    """How long to train, how to set the learning rate, when to score and what to keep."""

    total_steps: int
    eval_every: int
    learning_rate: float
    schedule: str  # "plateau" or "cosine"
    warmup: int
    plateau_patience: int
    stop_patience: int | None  # evaluations without improvement before stopping; None: never
    ema: float
    keep: str  # "best" or "last"
    monitor: str  # the validation score that decides (``rmse``, ``fm``), or ``loss``
    higher_is_better: bool
    checkpoint_every: int
    steps_per_epoch: int | None = None  # epoch runs: for messages

    def cosine_rate(self, step: int) -> float:
        """The cosine schedule's rate for step ``step`` (0-based): a linear warm-up over
        ``warmup`` steps, then a half cosine that reaches 0 at the last step."""
        if step < self.warmup:
            return self.learning_rate * (step + 1) / self.warmup
        span = max(1, self.total_steps - self.warmup)
        progress = min(1.0, (step - self.warmup + 1) / span)
        return self.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))


@dataclass
class LoopState:
    """Everything the loop carries from step to step besides weights (saved in checkpoints)."""

    step: int = 0
    seconds: float = 0.0
    lr_scale: float = 1.0  # plateau: halved when validation stalls
    best: float | None = None
    best_step: int | None = None
    since_best: int = 0
    plateau_wait: int = 0
    pending_losses: list[float] = field(default_factory=list)
    history: dict[str, list[float]] = field(default_factory=dict)
    stopped_early: bool = False
    resumed_at: list[int] = field(default_factory=list)


@dataclass
class LoopResult:
    state: LoopState
    kept_step: int
    kept_because: str


def run_loop(
    model: Any,
    trainable: Any,
    batch_at: Callable[[int], Batch],
    plan: LoopPlan,
    evaluate: Callable[[], Scores] | None,
    run_dir: Path,
    recipe: dict[str, str],
    resume: bool,
    reporter: Reporter,
) -> LoopResult:
    """Train ``trainable`` (compiled; ``model`` is the net inside it that gets saved) by ``plan``.

    ``evaluate`` scores ``model``'s current weights on the validation pages. On return ``model``
    holds the weights to keep; the checkpoint folder ``run_dir`` is removed. On Ctrl-C the loop
    writes a checkpoint before raising ``KeyboardInterrupt``; on a loss that is not finite it
    raises :class:`TrainingDiverged` and leaves no checkpoint.
    """
    from docclean.training.data import Prefetcher

    optimizer = trainable.optimizer
    state = LoopState()
    ema: list[np.ndarray] = []
    best_weights: list[np.ndarray] = []
    checkpoint = run_dir / CHECKPOINT
    if resume and checkpoint.exists():
        state, ema, best_weights = _restore(checkpoint, model, trainable, recipe)
        state.resumed_at.append(state.step)
        reporter.info(f"resuming from step {state.step} of {plan.total_steps} ({checkpoint})")
    elif checkpoint.exists() and not resume:
        raise UsageError(
            f"{run_dir} holds the checkpoint of an unfinished run",
            "pass --resume to continue it, or delete the folder to start over",
        )
    if plan.ema and not ema:
        ema = [np.array(w) for w in model.get_weights()]

    # Ctrl-C and SIGTERM set a flag checked between steps, so a step is never cut in half; a
    # second one (during a long validation, say) stops at once, without a new checkpoint.
    interrupted = threading.Event()
    prefetch = Prefetcher(batch_at, state.step)
    started = time.perf_counter() - state.seconds
    try:
        with deferred_interrupts(interrupted), reporter.bar("training", plan.total_steps) as bar:
            bar.advance(state.step)
            while state.step < plan.total_steps and not state.stopped_early:
                rate = _rate(plan, state)
                optimizer.learning_rate.assign(rate)
                noisy, clean = prefetch.get()
                loss = float(trainable.train_on_batch(noisy, clean, return_dict=True)["loss"])
                if not math.isfinite(loss):
                    _diverged(run_dir, f"the loss became {loss} at step {state.step + 1}", plan)
                state.step += 1
                state.pending_losses.append(loss)
                if plan.ema:
                    decay = min(plan.ema, (1 + state.step) / (10 + state.step))
                    for mean, weight in zip(ema, model.get_weights(), strict=True):
                        mean *= decay
                        mean += (1 - decay) * weight
                bar.advance(1, status=f"loss {loss:.5f}")
                last = state.step == plan.total_steps
                if state.step % plan.eval_every == 0 or last:
                    state.seconds = time.perf_counter() - started
                    best_weights = _evaluate(
                        model, evaluate, plan, state, ema, best_weights, rate, reporter
                    )
                if interrupted.is_set() or (state.step % plan.checkpoint_every == 0 and not last):
                    state.seconds = time.perf_counter() - started
                    _save(checkpoint, model, trainable, ema, best_weights, state, recipe)
                if interrupted.is_set():
                    reporter.warn(
                        f"interrupted at step {state.step}; checkpoint in {run_dir} "
                        "(run the same command with --resume to continue)"
                    )
                    raise KeyboardInterrupt
    finally:
        prefetch.close()
    state.seconds = time.perf_counter() - started
    kept_step, because = _keep(model, plan, state, ema, best_weights, evaluate is not None)
    _remove_run_dir(run_dir)
    return LoopResult(state, kept_step, because)


def _rate(plan: LoopPlan, state: LoopState) -> float:
    if plan.schedule == "cosine":
        return plan.cosine_rate(state.step)
    return max(plan.learning_rate * state.lr_scale, min(plan.learning_rate, MIN_LEARNING_RATE))


def _evaluate(
    model: Any,
    evaluate: Callable[[], Scores] | None,
    plan: LoopPlan,
    state: LoopState,
    ema: list[np.ndarray],
    best_weights: list[np.ndarray],
    rate: float,
    reporter: Reporter,
) -> list[np.ndarray]:
    """Score the weights (the EMA's, when kept), record a history row, track the best, adjust
    the plateau rate and early stopping; returns the best weights so far."""
    row: dict[str, float] = {
        "step": state.step,
        "loss": float(np.mean(state.pending_losses)),
        "learning_rate": rate,
        "seconds": round(state.seconds, 1),
    }
    state.pending_losses.clear()
    scores: Scores = {}
    if evaluate is not None:
        if plan.ema:
            raw = model.get_weights()
            row.update({f"raw_val_{k}": v for k, v in evaluate().items()})
            model.set_weights(ema)
            try:
                scores = evaluate()
            finally:
                model.set_weights(raw)
        else:
            scores = evaluate()
        row.update({f"val_{k}": v for k, v in scores.items()})
    value = scores[plan.monitor] if evaluate is not None else row["loss"]
    if not math.isfinite(value):
        _diverged(None, f"the validation {plan.monitor} became {value} at step {state.step}", plan)
    for key, v in row.items():
        state.history.setdefault(key, []).append(round(float(v), 7))
    better = state.best is None or (
        value > state.best if plan.higher_is_better else value < state.best
    )
    if better:
        state.best, state.best_step = value, state.step
        state.since_best = state.plateau_wait = 0
        if evaluate is not None and plan.keep == "best":
            best_weights = [np.array(w) for w in (ema or model.get_weights())]
    else:
        state.since_best += 1
        state.plateau_wait += 1
        if plan.schedule == "plateau" and state.plateau_wait >= plan.plateau_patience:
            state.lr_scale *= 0.5
            state.plateau_wait = 0
        if plan.stop_patience is not None and state.since_best >= plan.stop_patience:
            state.stopped_early = True
    reporter.info(_describe(row, plan))
    return best_weights


def _describe(row: dict[str, float], plan: LoopPlan) -> str:
    if plan.steps_per_epoch:
        where = f"epoch {row['step'] // plan.steps_per_epoch}"
    else:
        where = f"step {row['step']}/{plan.total_steps}"
    parts = [where, f"loss {row['loss']:.5f}"]
    parts += [f"{k} {v:.5f}" for k, v in row.items() if k.startswith(("val_", "raw_val_"))]
    parts += [f"lr {row['learning_rate']:.1e}", f"{row['seconds']:.0f} s"]
    return "  ".join(parts)


def _keep(
    model: Any,
    plan: LoopPlan,
    state: LoopState,
    ema: list[np.ndarray],
    best_weights: list[np.ndarray],
    validated: bool,
) -> tuple[int, str]:
    """Set ``model`` to the weights to save; returns their step and why they were kept."""
    averaged = " (the moving average of the weights)" if plan.ema else ""
    if plan.keep == "best" and validated and best_weights:
        model.set_weights(best_weights)
        kind = "FM" if plan.monitor == "fm" else plan.monitor.upper()
        assert state.best_step is not None
        return state.best_step, (
            f"best validation {kind} of the weights scored every {plan.eval_every} steps{averaged}"
        )
    if ema:
        model.set_weights(ema)
    reason = "the last step" if validated else "the last step (no validation pages)"
    return state.step, reason + averaged


def _diverged(run_dir: Path | None, what: str, plan: LoopPlan) -> None:
    if run_dir is not None:
        _remove_run_dir(run_dir)
    raise TrainingDiverged(
        f"training diverged: {what}; no model written",
        f"try a lower --learning-rate than {plan.learning_rate:g}",
    )


# --- checkpoints ------------------------------------------------------------------------------


def _save(
    path: Path,
    model: Any,
    trainable: Any,
    ema: list[np.ndarray],
    best: list[np.ndarray],
    state: LoopState,
    recipe: dict[str, str],
) -> None:
    """One file, written atomically: weights, optimizer variables, EMA, best weights, state."""
    arrays: dict[str, np.ndarray] = {}
    for prefix, values in (
        ("weights", model.get_weights()),
        ("optimizer", [np.asarray(v) for v in trainable.optimizer.variables]),
        ("ema", ema),
        ("best", best),
    ):
        for k, value in enumerate(values):
            arrays[f"{prefix}/{k:05d}"] = np.asarray(value)
    meta = {"state": asdict(state), "recipe": recipe}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    with atomic_path(path, suffix=".npz") as tmp:
        tmp.write_bytes(buffer.getvalue())


def _restore(
    path: Path, model: Any, trainable: Any, recipe: dict[str, str]
) -> tuple[LoopState, list[np.ndarray], list[np.ndarray]]:
    try:
        with np.load(path, allow_pickle=False) as packed:
            meta = json.loads(packed["meta"].tobytes())
            groups: dict[str, list[np.ndarray]] = {
                "weights": [],
                "optimizer": [],
                "ema": [],
                "best": [],
            }
            for key in sorted(k for k in packed.files if k != "meta"):
                groups[key.split("/")[0]].append(packed[key])
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"{path}: unreadable checkpoint ({exc})", "delete its folder to start over"
        ) from None
    # an option newer than the checkpoint counts as unchanged while it is left unset ("None")
    changed = sorted(k for k in recipe if meta["recipe"].get(k, "None") != recipe[k])
    if changed:
        shown = ", ".join(f"{k} {meta['recipe'].get(k)} -> {recipe[k]}" for k in changed[:4])
        raise UsageError(
            f"--resume: the options differ from the interrupted run's ({shown})",
            "rerun its own command with --resume, or delete the run folder to start over",
        )
    model.set_weights(groups["weights"])
    optimizer = trainable.optimizer
    if not optimizer.built:
        optimizer.build(trainable.trainable_variables)
    for variable, value in zip(optimizer.variables, groups["optimizer"], strict=True):
        variable.assign(value)
    return LoopState(**meta["state"]), groups["ema"], groups["best"]


def _remove_run_dir(run_dir: Path) -> None:
    (run_dir / CHECKPOINT).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        run_dir.rmdir()
