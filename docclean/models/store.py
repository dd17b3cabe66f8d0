"""Saving, finding and loading trained models, each with its model card beside it.

A model is ``NAME.keras`` plus ``NAME.json``, its card (:mod:`docclean.models.card`): the
architecture, how the model was trained and scored, the versions that made it and the sha256 of the
``.keras`` file, which is checked before anything is read from it. The archive's layer list and
weight shapes are then compared with the architecture's before Keras builds a layer, and loading
uses Keras' ``safe_mode`` and only docclean's own registered architectures, so a model file is data,
never code, and a small file cannot make docclean allocate more than its architecture needs.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docclean.errors import ModelError, OutputError
from docclean.io.atomic import atomic_path
from docclean.models.architectures import Architecture, get_architecture
from docclean.models.card import ModelCard, build_card, card_path, read_card, write_card

if TYPE_CHECKING:
    import keras

__all__ = [
    "DEFAULT_BINARIZE_MODEL",
    "DEFAULT_MODEL",
    "LoadedModel",
    "ModelCard",
    "card_path",
    "load_model",
    "read_card",
    "resolve_model",
    "save_model",
    "sha256_of",
    "shipped_models",
]

DEFAULT_MODEL = "office-tone-unet"
DEFAULT_BINARIZE_MODEL = "dibco-fast-unet"
"""What ``clean --binarize`` uses unless ``--model`` says otherwise."""


@dataclass
class LoadedModel:
    """A model ready for inference with the facts from its card."""

    name: str
    path: Path
    card: ModelCard
    model: keras.Model

    @property
    def receptive_radius(self) -> int:
        return self.card.receptive_radius

    @property
    def stride(self) -> int:
        return self.card.stride


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
        f"shipped: {known}, listed by `docclean models`; others load by path: --model zoo/NAME.keras",
    )


def load_model(name_or_path: str | Path | None = None) -> LoadedModel:
    """Load a shipped model by name, or a ``.keras`` file with its card, after checking its
    sha256, and its layers and weight shapes against its architecture's."""
    path = resolve_model(name_or_path)
    card = read_card(path)  # validated: a known architecture, positive geometry, an sha256
    actual = sha256_of(path)
    if actual != card.sha256:
        raise ModelError(
            f"{path}: sha256 {actual[:12]}… does not match its card ({card.sha256[:12]}…)",
            "the file was changed or damaged after training; retrain or reinstall it",
        )
    from docclean.backend import tensorflow

    tensorflow()
    import keras

    import docclean.models.layers  # noqa: F401  (registers docclean's layers for safe_mode loading)

    expected = get_architecture(card.architecture).build()
    _check_archive(path, card.architecture, expected)
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for foreign or damaged files
        first_line = (str(exc).strip().splitlines() or [""])[0][:300]
        raise ModelError(
            f"{path}: cannot load model ({type(exc).__name__}: {first_line})"
        ) from None
    if _structure(model) != _structure(expected):
        raise _not_the_architecture(path, card.architecture)
    return LoadedModel(name=path.stem, path=path, card=card, model=model)


ARCHIVE_MEMBERS = {"metadata.json": 1 << 16, "config.json": 1 << 23, "model.weights.h5": None}
"""The files a ``.keras`` archive docclean wrote holds, and the most bytes each may unpack to
(the weights: what the architecture's weights take, with room for the HDF5 bookkeeping)."""


def _not_the_architecture(path: Path, architecture: str, detail: str = "") -> ModelError:
    return ModelError(
        f"{path}: its layers are not those of the {architecture} architecture{detail}",
        "only models trained by docclean load",
    )


def _check_archive(path: Path, architecture: str, expected: keras.Model) -> None:
    """Refuse an archive whose member sizes, layer list or weight shapes are not those of
    ``expected`` (the architecture's model), reading no more than the architecture's size."""
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a Keras model archive (truncated or damaged)")
    weight_shapes = [tuple(int(d) for d in w.shape) for w in expected.weights]
    weight_bytes = 8 * sum(_elements(s) for s in weight_shapes) + (1 << 20)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            if set(members) != set(ARCHIVE_MEMBERS):
                odd = sorted(set(members) ^ set(ARCHIVE_MEMBERS))
                raise ModelError(f"{path}: not a docclean model archive (members {odd} differ)")
            for name, info in members.items():
                limit = ARCHIVE_MEMBERS[name] or weight_bytes
                if info.file_size > limit:
                    raise ModelError(
                        f"{path}: {name} unpacks to {info.file_size:,} bytes, more than the "
                        f"{architecture} architecture needs ({limit:,})"
                    )
            config = json.loads(archive.read("config.json"))
            weights = archive.read("model.weights.h5")
    except (zipfile.BadZipFile, OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{path}: not a readable Keras model archive ({exc})") from None
    expected_config = json.loads(
        json.dumps({"class_name": "Functional", "config": expected.get_config()})
    )
    ours, theirs = _layer_signature(expected_config), _layer_signature(config)
    if theirs != ours:
        differs = next(
            (
                f": {b[0]} where {a[0]} belongs"
                for a, b in zip(ours, theirs, strict=False)
                if a != b
            ),
            f": {len(theirs)} layers, not {len(ours)}",
        )
        raise _not_the_architecture(path, architecture, differs)
    _check_weight_shapes(path, architecture, weights, weight_shapes)


def _elements(shape: tuple[int, ...]) -> int:
    count = 1
    for side in shape:
        count *= side
    return count


SHAPE_KEYS = (
    "batch_shape",
    "filters",
    "kernel_size",
    "strides",
    "units",
    "depth_multiplier",
    "pool_size",
    "size",
    "dilation_rate",
    "groups",
)
"""The settings of a layer's config that decide how much memory it takes."""


def _layer_signature(node: Any) -> list[tuple[str, str]]:
    """Every layer in a model config (nested models' too), in order: its class and the
    settings that decide its size, leaving out :data:`OPTIONAL_LAYERS`."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        if "class_name" in node and "config" in node and "inbound_nodes" in node:
            layer = node["config"] if isinstance(node["config"], dict) else {}
            kind = str(node["class_name"])
            if kind not in OPTIONAL_LAYERS:
                sizes = {k: layer[k] for k in SHAPE_KEYS if k in layer}
                found.append((kind, json.dumps(sizes, sort_keys=True)))
        for value in node.values():
            found.extend(_layer_signature(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_layer_signature(value))
    return found


def _check_weight_shapes(
    path: Path, architecture: str, weights: bytes, shapes: list[tuple[int, ...]]
) -> None:
    """Every array in the weights file has the shape of one of the architecture's weights, and
    together they are no bigger than the architecture's: checked before any array is read."""
    import h5py

    allowed = set(shapes)
    budget = sum(_elements(s) for s in shapes)
    found: list[tuple[str, tuple[int, ...]]] = []

    def visit(name: str, item: object) -> None:
        if isinstance(item, h5py.Dataset):
            found.append((name, tuple(int(d) for d in item.shape)))

    try:
        with h5py.File(io.BytesIO(weights), "r") as store:
            store.visititems(visit)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable weights in the model archive ({exc})") from None
    for name, shape in found:
        if shape not in allowed:
            raise _not_the_architecture(path, architecture, f": weight {name} has shape {shape}")
    if sum(_elements(s) for _, s in found) > budget:
        raise _not_the_architecture(path, architecture, ": more weights than it has")


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
    model: keras.Model, path: Path, facts: dict[str, Any], *, overwrite: bool = False
) -> ModelCard:
    """Write ``model`` and its card atomically; returns the card.

    ``facts`` are the card fields the trainer knows (``architecture`` at least; ``description``,
    ``training``, ``validation``, ...); the geometry, file size and sha256 are added here.
    """
    path = path.with_suffix(".keras")
    if not overwrite and (path.exists() or card_path(path).exists()):
        raise OutputError(f"{path} already exists", "choose another name or pass --overwrite")
    arch = get_architecture(facts["architecture"])
    copy = _weights_only_copy(model, arch)
    try:
        with atomic_path(path, suffix=".keras") as tmp:  # Keras wants the .keras suffix
            copy.save(tmp)
            card = build_card(
                facts,
                name=path.stem,
                arch=arch,
                size_bytes=tmp.stat().st_size,
                sha256=sha256_of(tmp),
            )
            write_card(path, card)
    except OSError as exc:
        raise OutputError(f"{path}: cannot save model ({exc.strerror or exc})") from None
    return card
