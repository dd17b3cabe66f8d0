"""Turn a ``bench/train_long.py`` run into a docclean model and card, scored by docclean itself.

    python bench/card_from_run.py runs/long/spec-tr.keras runs/long/noisyoffice-tone-unet-tr \
        --noisy ../shared/data/noisyoffice/train --clean ../shared/data/noisyoffice/train_cleaned \
        --description "..." [--accelerator "1 NVIDIA H100, shared by 8 runs"]

The run's model (saved by any Keras backend, optimizer state included) is loaded with
``safe_mode=True`` and written weights-only by :func:`docclean.models.store.save_model`. The card
records the run's recipe, step count and history, and, when the run had validation pages, their
whole-page scores from :func:`docclean.training.trainer.score_pages` (``clean``'s own tiled inference on this
machine, beside no cleaning or Otsu), so a card's figure is what ``docclean evaluate`` reproduces.
Then ``bench/install_model.py`` names it and adds its speed.

A run's last weights, ``RUN-last.keras`` beside a run that kept its best checkpoint as
``RUN.keras``, are carded from that run's summary. ``--mirror-level L`` grows the run's model into
its ``-mirrored`` architecture (:func:`docclean.models.architectures._mirrored`: the average over two
mirrored views) with decision level ``L`` (:class:`docclean.models.layers.Recentre`), and cards that.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path, help="the run's .keras file (its .json beside it)")
    parser.add_argument("output", type=Path)
    parser.add_argument("--noisy", type=Path, required=True, help="where the pages live, by name")
    parser.add_argument("--clean", type=Path, required=True)
    parser.add_argument("--description", default="")
    parser.add_argument("--accelerator", default="1 NVIDIA H100 GPU")
    parser.add_argument(
        "--mirror-level",
        type=float,
        help="grow into the -mirrored architecture with this decision level (a binarizer's)",
    )
    args = parser.parse_args()

    import keras
    import numpy as np

    import docclean.models.layers  # noqa: F401  (registers docclean's layers)
    from docclean.evaluation.metrics import is_bilevel
    from docclean.models.architectures import flops_per_pixel, get_architecture, grow
    from docclean.models.store import LoadedModel, save_model
    from docclean.synth.generator import never_seen_kinds
    from docclean.training import trainer as training
    from docclean.training.data import find_pairs, load_pairs

    last = args.run.stem.endswith("-last")
    run = json.loads(_description_path(args.run).read_text())
    recipe = run["recipe"]
    arch = get_architecture(recipe["arch"])
    model = keras.saving.load_model(args.run, safe_mode=True, compile=False)
    after_training = None
    if args.mirror_level is not None:
        trained = arch.name
        arch = get_architecture(f"{trained}-mirrored")
        model = grow(model, arch)
        model.get_layer("clean").set_weights([np.float32(args.mirror_level)])
        after_training = {
            "grown_into": arch.name,
            "from": trained,
            "decision_level": args.mirror_level,
            "note": "the trained weights unchanged; the average of the outputs on two mirrored "
            f"views is thresholded at {args.mirror_level:g} (moved to 0.5 by the Recentre layer)",
        }
    val_names = set(run["validation_pages"])
    paths, _ = find_pairs(args.noisy, args.clean)
    val_pairs, bad = load_pairs([p for p in paths if p.name in val_names])
    first_train, _ = load_pairs([p for p in paths if p.name == run["train_pages"][0]])
    if bad or len(val_pairs) != len(val_names) or not first_train:
        raise SystemExit(f"pages missing or unreadable: {bad}")
    loaded = LoadedModel(
        args.output.stem,
        args.output,
        {"receptive_radius": arch.receptive_radius, "stride": arch.stride},
        model,
    )
    validation = training.score_pages(loaded, val_pairs) if val_pairs else None
    init = Path(recipe["init"]) if recipe["init"] != "None" else None
    best = run["best"]
    span = f"{recipe['steps']} steps" if int(recipe["steps"]) else f"{recipe['minutes']} minutes"
    card = {
        "architecture": arch.name,
        "architecture_summary": arch.summary,
        "description": args.description,
        "output_kind": "bilevel" if is_bilevel(first_train[0].clean) else "grayscale",
        "parameters": int(model.count_params()),
        "flops_per_pixel": flops_per_pixel(model),
        "input": "single-channel grayscale page, float32 in [0, 1], any size",
        "training": {
            "noisy_dir": str(args.noisy),
            "clean_dir": str(args.clean),
            "train_pages": run["train_pages"],
            "synthetic_pairs": run["synthetic_pairs"],
            # of them rendered pages paired with themselves (train_long.py --synthetic-undamaged)
            "synthetic_undamaged_pages": int(recipe.get("synthetic_undamaged", 0)),
            "synthetic_excluded_kinds": _own_kinds(run)["synthetic_excluded_kinds"],
            "never_seen_kinds": never_seen_kinds(_own_kinds(run), _start_training(init)),
            "synthetic_share": float(recipe["synthetic_share"]) if run["synthetic_pairs"] else 0.0,
            "validation_pages": run["validation_pages"],
            "patch_size": int(recipe["patch"]),
            "batch_size": int(recipe["batch"]),
            "steps_run": run["steps"],
            "kept_step": best.get("step", run["steps"]) if val_pairs and not last else run["steps"],
            "kept_because": (
                "the run's last step (its validation scores, in the history, chose nothing)"
                if last
                else f"best validation {'FM' if 'fm' in best else 'RMSE'} of the checkpoints "
                f"scored every {recipe['eval_every']} steps"
                if val_pairs
                else "last step (no validation pages)"
            ),
            "loss": recipe["loss"],
            "regularizer": {"kind": "none", "weight": 0.0},
            "init_from": _init_from(init, arch.name, args.output.stem),
            "optimizer": (
                f"adam lr={recipe['lr']}, {recipe['warmup']} warm-up steps, cosine decay to 0 "
                f"over {span}"
            ),
            "augment": [a for a in recipe["augment"].split(",") if a and a != "none"],
            "seed": int(recipe["seed"]),
            "seconds": run["seconds"],
            "trainer": (
                f"bench/train_long.py, Keras {run['keras']} on {run['backend']}, {args.accelerator}"
            ),
            "command": " ".join(["python"] + run["argv"]),
            "history": run["history"],
        },
        **({"after_training": after_training} if after_training else {}),
        "validation": validation,
        "versions": training._versions(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    save_model(model, args.output, card, overwrite=True)
    print(json.dumps({"output": str(args.output.with_suffix(".keras")), "validation": validation}))


def _description_path(model: Path) -> Path:
    """A model's card or run summary: beside it; a run's ``RUN-last.keras`` shares ``RUN.json``."""
    beside = model.with_suffix(".json")
    if model.stem.endswith("-last") and not beside.exists():
        return model.with_name(model.stem.removesuffix("-last") + ".json")
    return beside


def _own_kinds(run: dict) -> dict:
    """A run summary's synthetic pairs and the kinds its ``--synthetic-exclude`` left out."""
    excluded = [k for k in run["recipe"]["synthetic_exclude"].split(",") if k]
    return {"synthetic_pairs": run["synthetic_pairs"], "synthetic_excluded_kinds": excluded}


def _start_training(init: Path | None) -> dict | None:
    """The ``training`` entry of the card of the model a run started from, if it has one.

    A run that started from another run's output (no card) is followed through that run's recipe.
    """
    if init is None:
        return None
    from docclean.models.store import read_card
    from docclean.synth.generator import never_seen_kinds

    beside = _description_path(init)
    if not beside.exists():
        return None
    described = json.loads(beside.read_text())
    if "recipe" not in described:
        return read_card(init).get("training")
    start = described["recipe"]["init"]
    before = _start_training(Path(start)) if start != "None" else None
    return {"never_seen_kinds": never_seen_kinds(_own_kinds(described), before)}


def _init_from(init: Path | None, arch: str, output: str) -> dict[str, str] | None:
    """The run's starting model, as ``docclean train`` records it (``grown_from`` if grown).

    A model with a card is named as the version shipped before when it has ``output``'s name, by
    its own name otherwise; another run's output by its file name and that run's command; a file
    with neither card nor run beside it by its file name. Each with its sha256.
    """
    if init is None:
        return None
    from docclean.models.store import read_card, sha256_of

    beside = _description_path(init)
    described = json.loads(beside.read_text()) if beside.exists() else {}
    if "recipe" in described:  # a bench/train_long.py run's summary
        command = " ".join(described["argv"])
        entry = {"name": f"{init.name} (the output of: {command})", "sha256": sha256_of(init)}
        source = described["recipe"]["arch"]
    elif described:
        card = read_card(init)
        shipped_before = card["name"] == output
        entry = {
            "name": f"{init.stem} (the version shipped before)" if shipped_before else init.stem,
            "sha256": card["sha256"],
        }
        source = card["architecture"]
    else:
        return {"name": init.name, "sha256": sha256_of(init)}
    if source != arch:
        entry["grown_from"] = source
    return entry


if __name__ == "__main__":
    main()
