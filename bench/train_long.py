"""Long training runs on an accelerator, with any Keras 3 backend (JAX, PyTorch or TensorFlow).

``docclean train`` is built for a laptop: a few thousand steps, TensorFlow, early stopping. This
script runs the same architectures, losses and patch sampler for tens of thousands of steps on a
GPU machine that may have no TensorFlow (``KERAS_BACKEND=jax``), with a cosine learning-rate decay,
and keeps the weights that score best on the validation pages (whole pages, tiled as ``clean``
tiles them) at ``--out``, the last ones beside them (``NAME-last.keras``). Pages come packed as
uint8 arrays by ``bench/pack_pages.py``; the training pages are all but ``--val`` unless ``--train``
names them. An ``--arch`` that grows from the ``--init`` model's architecture (``tone-unet-fine``
from ``tone-unet``) starts from that model's weights, its added blocks as the identity. On this
project's 2-core CPU machine (TensorFlow) a step of 32 patches of 256 px takes about 0.2 s.

    KERAS_BACKEND=jax python bench/train_long.py --data .gpu/office.npz \
        --val @models/noisyoffice-va.txt --init models/noisyoffice-tone-unet-tr.keras --steps 5000 \
        --out runs/long/spec.keras

It writes the model and ``<out>.json`` (recipe, history, best step); ``bench/card_from_run.py`` turns
that into a model card with figures measured by docclean itself.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from pathlib import Path
from queue import Queue
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docclean.evaluation.metrics import bilevel_scores, gray_scores, is_bilevel, mean_scores
from docclean.inference.tiling import TileConfig, default_margin, run_tiled
from docclean.training.data import Pair, PatchSampler, read_name_list


def read_names(spec: str, available: list[str]) -> list[str]:
    """Names as ``--val`` takes them (``a,b`` or ``@file``), where ``prefix*`` stands for every match."""
    names: list[str] = []
    for item in read_name_list(spec):
        names += [a for a in available if a.startswith(item[:-1])] if item.endswith("*") else [item]
    missing = sorted(set(names) - set(available))
    if missing:
        raise SystemExit(f"unknown page names: {missing[:5]}")
    return names


def load_packed(path: Path) -> dict[str, Pair]:
    """Pairs from a packed ``.npz``: ``noisy/NAME`` uint8, ``clean/NAME`` uint8 or bit-packed."""
    packed = np.load(path)
    pairs = {}
    for key in packed.files:
        if not key.startswith("noisy/"):
            continue
        name = key[len("noisy/") :]
        noisy = packed[key].astype(np.float32) / 255
        clean = packed[f"clean/{name}"]
        if f"shape/{name}" in packed.files:
            h, w = packed[f"shape/{name}"]
            clean = np.unpackbits(clean, axis=-1)[:, :w].reshape(h, w).astype(np.float32)
        else:
            clean = clean.astype(np.float32) / 255
        pairs[name] = Pair(name, noisy, clean)
    return pairs


def synthetic_pool(
    path: Path, count: int, seed: int, exclude: list[str], undamaged: int = 0
) -> list[Pair]:
    """``count`` dirty versions of packed rendered pages, damaged by ``docclean.synth.generator``, and
    ``undamaged`` more pages paired with themselves (the last pages of the pack first), which teach
    a model to leave clean text as it is."""
    from docclean.synth.generator import resolve_kinds, synthetic_pairs

    pages = np.load(path)["pages"].astype(np.float32) / 255
    kinds = resolve_kinds(exclude=exclude) if exclude else None
    pool = synthetic_pairs(count, np.random.default_rng(seed), clean_pages=list(pages), kinds=kinds)
    for i in range(undamaged):
        page = pages[len(pages) - 1 - i % len(pages)]
        pool.append(Pair(f"undamaged-{i:05d}", page, page))
    return pool


class MixedSampler:
    """Batches drawn from real pairs and, a ``share`` of their patches, from synthetic ones."""

    def __init__(
        self,
        real: list[Pair],
        synthetic: list[Pair],
        share: float,
        patch: int,
        seed: int,
        augment: list[str],
    ) -> None:
        self.real = PatchSampler(real, patch, seed, augment)
        self.synthetic = PatchSampler(synthetic, patch, seed + 1, augment) if synthetic else None
        self.share = share if synthetic else 0.0
        self.rng = np.random.default_rng(seed + 2)

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        n_syn = int(self.rng.binomial(size, self.share))
        parts = []
        if n_syn < size:
            parts.append(self.real.batch(size - n_syn))
        if n_syn:
            parts.append(self.synthetic.batch(n_syn))  # type: ignore[union-attr]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def prefetch(make: Any, size: int, threads: int = 3, depth: int = 8) -> Queue:
    """A queue that ``threads`` samplers (``make(seed)``), one a thread, keep filled with batches."""
    queue: Queue = Queue(maxsize=depth)

    def work(sampler: MixedSampler) -> None:
        while True:
            queue.put(sampler.batch(size))

    for k in range(threads):
        threading.Thread(target=work, args=(make(k),), daemon=True).start()
    return queue


def tiled_outputs(model: Any, pairs: list[Pair], radius: int, stride: int) -> list[np.ndarray]:
    """The model's output on each whole page, the page cut into tiles as ``docclean clean`` does.

    :func:`docclean.training.trainer.score_pages` does the same through ``PageCleaner``, which needs
    TensorFlow; this calls the model directly, so it runs on any Keras backend.
    """
    config = TileConfig(tile_size=512, margin=default_margin(radius, stride), batch_size=8)

    def predict(batch: np.ndarray) -> np.ndarray:
        return np.asarray(model(batch[..., None], training=False))[..., 0]

    return [run_tiled(p.noisy, predict, config) for p in pairs]


def score(
    model: Any, pairs: list[Pair], radius: int, stride: int, bilevel: bool
) -> dict[str, float]:
    """Whole-page validation scores of :func:`tiled_outputs`, as ``evaluate`` scores them."""
    scorer = bilevel_scores if bilevel else gray_scores
    outputs = tiled_outputs(model, pairs, radius, stride)
    return mean_scores([scorer(out, p.clean) for out, p in zip(outputs, pairs, strict=True)])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--train", help="page names (a,b / @file / prefix*); default: all but --val")
    ap.add_argument("--val", help="validation page names; default: none (fixed step count)")
    ap.add_argument("--arch", default="tone-unet")
    ap.add_argument("--init", type=Path, help="a .keras model to start from")
    ap.add_argument("--loss", default="mse")
    ap.add_argument("--steps", type=int, default=0, help="training steps (0: run for --minutes)")
    ap.add_argument("--minutes", type=float, default=0.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--patch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--augment", default="flip,tone")
    ap.add_argument("--synthetic", type=Path, help="packed rendered clean pages")
    ap.add_argument("--synthetic-count", type=int, default=240)
    ap.add_argument("--synthetic-share", type=float, default=0.5)
    ap.add_argument("--synthetic-exclude", default="")
    ap.add_argument(
        "--synthetic-undamaged", type=int, default=0, help="rendered pages paired with themselves"
    )
    ap.add_argument("--eval-every", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--ema",
        type=float,
        default=0.0,
        help="also keep an exponential moving average of the weights with this decay (0.999, say);"
        " it is what is scored, kept and saved",
    )
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    import keras

    import docclean.models.layers  # noqa: F401  (registers Logit)
    from docclean.models.architectures import get_architecture, grow
    from docclean.training.losses import get_loss

    keras.utils.set_random_seed(args.seed)
    pages = load_packed(args.data)
    names = sorted(pages)
    val_names = read_names(args.val, names) if args.val else []
    train_names = (
        read_names(args.train, names) if args.train else [n for n in names if n not in val_names]
    )
    assert not set(train_names) & set(val_names), "training and validation pages overlap"
    train = [pages[n] for n in train_names]
    val = [pages[n] for n in val_names]
    exclude = [k for k in args.synthetic_exclude.split(",") if k]
    synthetic = (
        synthetic_pool(
            args.synthetic, args.synthetic_count, args.seed + 7, exclude, args.synthetic_undamaged
        )
        if args.synthetic
        else []
    )
    augment = [a for a in args.augment.split(",") if a and a != "none"]
    queue = prefetch(
        lambda k: MixedSampler(
            train, synthetic, args.synthetic_share, args.patch, args.seed + 100 * k, augment
        ),
        args.batch,
    )
    bilevel = all(is_bilevel(p.clean) for p in train)  # as docclean.training.trainer decides it

    arch = get_architecture(args.arch)
    if args.init:  # compile=False: a run's own output carries its loss, which needs no restoring
        model = keras.saving.load_model(args.init, safe_mode=True, compile=False)
    else:
        model = arch.build()
    source = model.name.replace("_", "-")  # the builders name a model after its architecture
    if source != arch.name:  # --arch tone-unet-fine --init a tone-unet: grown, function kept
        try:
            model = grow(model, arch)
        except ValueError as exc:  # grow checks that the model grows into --arch
            raise SystemExit(f"--arch {arch.name}: {exc}") from None
    optimizer = keras.optimizers.Adam(args.lr)
    model.compile(optimizer=optimizer, loss=get_loss(args.loss))

    def lr_at(progress: float, step: int) -> float:
        warm = min(1.0, (step + 1) / max(args.warmup, 1))
        return args.lr * warm * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {}
    monitor, sign = ("fm", -1) if bilevel else ("rmse", 1)
    started = time.perf_counter()
    step = 0
    losses: list[float] = []

    averaged = [np.array(w) for w in model.get_weights()] if args.ema else []

    def evaluate() -> None:
        if args.ema:
            row_raw = score(model, val, arch.receptive_radius, arch.stride, bilevel) if val else {}
            raw_weights = model.get_weights()
            model.set_weights(averaged)
        row: dict[str, Any] = {
            "step": step,
            "seconds": round(time.perf_counter() - started, 1),
            "loss": float(np.mean(losses)) if losses else None,
        }
        if val:
            row.update(
                {
                    k: round(v, 5)
                    for k, v in score(
                        model, val, arch.receptive_radius, arch.stride, bilevel
                    ).items()
                }
            )
            if args.ema:
                row.update({f"raw_{k}": round(v, 5) for k, v in row_raw.items()})
            if not best or sign * row[monitor] < sign * best[monitor]:
                best.clear()
                best.update(row)
                model.save(args.out)
        if args.ema:
            model.set_weights(raw_weights)
        history.append(row)
        print(json.dumps(row), flush=True)
        losses.clear()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    while True:
        elapsed = time.perf_counter() - started
        progress = step / args.steps if args.steps else elapsed / (60 * args.minutes)
        if progress >= 1.0:
            break
        optimizer.learning_rate.assign(lr_at(progress, step))
        noisy, clean = queue.get()
        losses.append(float(model.train_on_batch(noisy, clean)))
        step += 1
        if args.ema:
            decay = min(args.ema, (1 + step) / (10 + step))  # short memory while few steps exist
            for mean, weight in zip(averaged, model.get_weights(), strict=True):
                mean *= decay
                mean += (1 - decay) * weight
        if step % args.eval_every == 0:
            evaluate()
    if step % args.eval_every:
        evaluate()
    if args.ema:
        model.set_weights(averaged)
    if val:  # the best checkpoint is at --out; keep the last one beside it
        model.save(args.out.with_name(f"{args.out.stem}-last.keras"))
    else:
        model.save(args.out)
    recipe = {k: str(v) for k, v in vars(args).items()}
    summary = {
        "recipe": recipe,
        "argv": sys.argv,
        "steps": step,
        "train_pages": train_names,
        "validation_pages": val_names,
        "synthetic_pairs": len(synthetic),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "best": best,
        "history": history,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
