"""Saving, finding and loading trained models with the JSON model card kept beside each.

A model is ``NAME.keras`` plus ``NAME.json``. The card records the architecture, how the model was
trained and scored, the versions that made it and the sha256 of the ``.keras`` file, which is
checked before anything is deserialised. Loading uses Keras' ``safe_mode`` and only docclean's own
registered architectures, so a model file is data, never code.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docclean.errors import ModelError, OutputError
from docclean.io.atomic import atomic_path, write_text_atomic
from docclean.models.architectures import ARCHITECTURES, Architecture, get_architecture

if TYPE_CHECKING:
    import keras

DEFAULT_MODEL = "office-tone-unet"
DEFAULT_BINARIZE_MODEL = "dibco-fast-unet"
"""What ``clean --binarize`` uses unless ``--model`` says otherwise."""
CARD_SCHEMA = 1


@dataclass
class LoadedModel:
    """A model ready for inference with the facts from its card."""

    name: str
    path: Path
    card: dict[str, Any]
    model: keras.Model

    @property
    def receptive_radius(self) -> int:
        return int(self.card["receptive_radius"])

    @property
    def stride(self) -> int:
        return int(self.card["stride"])


def shipped_models_dir() -> Path:
    """Where the models that come with docclean live (inside the wheel, or ``models/`` in a checkout)."""
    packaged = Path(str(resources.files("docclean"))) / "_shipped_models"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "models"


def shipped_models() -> dict[str, Path]:
    """Name -> ``.keras`` path of every shipped model that has a card."""
    folder = shipped_models_dir()
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.keras")) if p.with_suffix(".json").is_file()}


def card_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_model(name_or_path: str | Path | None) -> Path:
    """The ``.keras`` file meant by a shipped model's name or a path (``None``: the default model)."""
    spec = str(name_or_path) if name_or_path is not None else DEFAULT_MODEL
    shipped = shipped_models()
    if spec in shipped:
        return shipped[spec]
    path = Path(spec).expanduser()
    if path.suffix != ".keras" and path.with_suffix(".keras").is_file():
        path = path.with_suffix(".keras")
    if path.is_file():
        return path
    known = ", ".join(shipped) or "none installed"
    raise ModelError(
        f"no model {spec!r}: neither a shipped model nor a .keras file",
        f"shipped models: {known}; `docclean models` lists them",
    )


def read_card(model_path: Path) -> dict[str, Any]:
    """The model card beside ``model_path``; missing or malformed cards are a :class:`ModelError`."""
    path = card_path(model_path)
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(
            f"{model_path}: no model card {path.name} beside it",
            "docclean only loads models it trained, each with its JSON card",
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable model card ({exc})") from None
    missing = {"architecture", "receptive_radius", "stride", "sha256"} - set(card)
    if not isinstance(card, dict) or missing:
        raise ModelError(
            f"{path}: not a docclean model card (missing {', '.join(sorted(missing))})"
        )
    return card


def load_model(name_or_path: str | Path | None = None) -> LoadedModel:
    """Load a shipped model by name, or a ``.keras`` file with its card, after checking its sha256."""
    path = resolve_model(name_or_path)
    card = read_card(path)
    if card["architecture"] not in ARCHITECTURES:
        raise ModelError(
            f"{path}: architecture {card['architecture']!r} is not one docclean knows",
            "it may need a newer docclean",
        )
    actual = sha256_of(path)
    if actual != card["sha256"]:
        raise ModelError(
            f"{path}: sha256 {actual[:12]}… does not match its card ({str(card['sha256'])[:12]}…)",
            "the file was changed or damaged after training; retrain or reinstall it",
        )
    from docclean.backend import tensorflow

    tensorflow()
    import keras

    import docclean.models.layers  # noqa: F401  (registers docclean's layers for safe_mode loading)

    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a Keras model archive (truncated or damaged)")
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for foreign or damaged files
        first_line = (str(exc).strip().splitlines() or [""])[0][:300]
        raise ModelError(
            f"{path}: cannot load model ({type(exc).__name__}: {first_line})"
        ) from None
    if _structure(model) != _structure(get_architecture(card["architecture"]).build()):
        raise ModelError(
            f"{path}: its layers are not those of the {card['architecture']} architecture",
            "only models trained by docclean load",
        )
    return LoadedModel(name=path.stem, path=path, card=card, model=model)


def _weights_only_copy(model: keras.Model, arch: Architecture) -> keras.Model:
    """A fresh, uncompiled build of ``arch`` holding ``model``'s weights: what gets saved, so a
    model file carries no optimizer state, loss or compile settings, only layers and weights."""
    copy = arch.build()
    try:
        copy.set_weights(model.get_weights())
    except ValueError:
        raise ModelError(f"the model's weights do not fit the {arch.name} architecture") from None
    return copy


OPTIONAL_LAYERS = frozenset({"Despeckle"})
"""Weightless layers an architecture gained later: files saved before them still load, without."""


def _structure(model: keras.Model) -> list[tuple[str, tuple[tuple[int, ...], ...]]]:
    """Layer types and weight shapes, in order: what a model file must share with its architecture."""
    return [
        (type(layer).__name__, tuple(tuple(w.shape) for w in layer.weights))
        for layer in model.layers
        if type(layer).__name__ not in OPTIONAL_LAYERS
    ]


def save_model(
    model: keras.Model, path: Path, card: dict[str, Any], *, overwrite: bool = False
) -> dict[str, Any]:
    """Write ``model`` and its card (completed with sha256 and geometry) atomically; returns the card."""
    path = path.with_suffix(".keras")
    if not overwrite and (path.exists() or card_path(path).exists()):
        raise OutputError(f"{path} already exists", "choose another name or pass --overwrite")
    arch = get_architecture(card["architecture"])
    copy = _weights_only_copy(model, arch)
    try:
        with atomic_path(path, suffix=".keras") as tmp:  # Keras wants the .keras suffix
            copy.save(tmp)
            full = {
                "schema": CARD_SCHEMA,
                "name": path.stem,
                **card,
                "receptive_radius": arch.receptive_radius,
                "stride": arch.stride,
                "file": path.name,
                "size_bytes": tmp.stat().st_size,
                "sha256": sha256_of(tmp),
            }
            write_text_atomic(card_path(path), json.dumps(full, indent=2) + "\n")
    except OSError as exc:
        raise OutputError(f"{path}: cannot save model ({exc.strerror or exc})") from None
    return full
