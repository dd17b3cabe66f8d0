"""The model card: what a model is for, how it was made and scored, and the sha256 of its file.

A model is ``NAME.keras`` plus its card ``NAME.json``. The card is one typed record (schema
:data:`CARD_SCHEMA`), built, written, read, validated and upgraded in this module and nowhere else:
every other module reads attributes of a :class:`ModelCard`. A card that does not validate (a
missing or mistyped field, a zero size, an sha256 that is not 64 hex digits, an unknown
architecture) is a :class:`~docclean.errors.ModelError` naming the file and the field.

Schema 1 cards (before the card was typed) are upgraded on reading: a training ``command`` becomes
``commands``, ``never_seen_kinds`` is worked out where it is missing, a card written by hand with
only the four required fields gets the defaults below.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docclean.errors import ModelError
from docclean.io.atomic import write_text_atomic

if TYPE_CHECKING:
    from docclean.models.architectures import Architecture

CARD_SCHEMA = 2
"""Schema 2: the typed card. Schema 1 (untyped, read by string key) is upgraded on reading."""
OUTPUT_KINDS = ("grayscale", "bilevel")
"""``bilevel``: trained on black-and-white targets; ``clean --binarize`` thresholds it at 0.5."""
INPUT_LEVELS = ("as-scanned", "paper-ink")
"""How a model takes its pages: as they come, or at full contrast (docclean.inference.levels)."""
MODEL_INPUT = "single-channel grayscale page, float32 in [0, 1], any size"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class CardError(ModelError):
    """A card that is not a valid docclean model card (exit 3), naming the file and the field."""

    def __init__(self, source: Path | str, name: str, problem: str, value: object = None) -> None:
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:39] + "…"
        got = "" if value is None else f", not {shown}"
        super().__init__(
            f"{source}: model card field {name!r} {problem}{got}",
            "the card is damaged or not written by docclean; retrain or reinstall the model",
        )
        self.field = name


class _Reader:
    """Typed reads of one card's values, each failure a :class:`CardError` naming the field."""

    def __init__(self, source: Path | str) -> None:
        self.source = source

    def fail(self, name: str, problem: str, value: object = None) -> CardError:
        return CardError(self.source, name, problem, value)

    def block(self, data: Mapping[str, Any], key: str, prefix: str = "") -> dict[str, Any] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(prefix + key, "must be an object", value)
        return dict(value)

    def text(self, data: Mapping[str, Any], key: str, prefix: str = "", default: str = "") -> str:
        value = data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.fail(prefix + key, "must be text", value)
        return value

    def positive_int(
        self, data: Mapping[str, Any], key: str, prefix: str = "", required: bool = False
    ) -> int | None:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(prefix + key, "is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(prefix + key, "must be a positive integer", value)
        return value

    def positive_number(self, data: Mapping[str, Any], key: str, prefix: str = "") -> float | None:
        value = data.get(key)
        if value is None:
            return None
        if not _is_number(value) or value <= 0:
            raise self.fail(prefix + key, "must be a positive number", value)
        return value

    def texts(self, data: Mapping[str, Any], key: str, prefix: str = "") -> list[str]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(prefix + key, "must be a list of text", value)
        return list(value)

    def sha256(self, data: Mapping[str, Any], key: str, prefix: str = "") -> str:
        value = data.get(key)
        if value is None:
            raise self.fail(prefix + key, "is missing")
        if not isinstance(value, str) or not _SHA256.fullmatch(value):
            raise self.fail(prefix + key, "must be 64 lowercase hex digits", value)
        return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Validation:
    """Whole-page scores on validation pages: the model's and those of methods beside it."""

    pages: int
    scores: dict[str, dict[str, float]]
    """``"model"`` and each method scored beside it (``no_cleaning``, ``otsu``, ...): metric -> value."""
    data: str = ""
    """Which pages, in words."""
    command: str = ""
    """The command that reproduces the figures."""
    validation_model: str = ""
    """For figures reported for a model trained on every page: the validation twin they come from."""
    details: dict[str, Any] = field(default_factory=dict)
    """Other facts its scorer recorded, kept as written."""

    @property
    def model(self) -> dict[str, float]:
        return self.scores.get("model", {})

    def headline(self) -> str:
        """The model's main figure: ``FM 90.2`` (binarization) or ``RMSE 0.0254``; ``-`` if none."""
        if "fm" in self.model:
            return f"FM {self.model['fm']:.1f}"
        if "rmse" in self.model:
            return f"RMSE {self.model['rmse']:.4f}"
        return "-"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pages": self.pages, **self.scores, **self.details}
        for key in ("data", "command", "validation_model"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out

    @classmethod
    def _read(cls, data: dict[str, Any], key: str, read: _Reader) -> Validation:
        pages = read.positive_int(data, "pages", f"{key}.", required=True)
        assert pages is not None
        scores: dict[str, dict[str, float]] = {}
        for method, figures in data.items():
            if not isinstance(figures, Mapping):
                continue
            for metric, value in figures.items():
                if not _is_number(value):
                    raise read.fail(f"{key}.{method}.{metric}", "must be a finite number", value)
            scores[method] = {m: float(v) for m, v in figures.items()}
        if "model" not in scores:
            raise read.fail(f"{key}.model", "is missing")
        named = {"pages", "data", "command", "validation_model"}
        return cls(
            pages=pages,
            scores=scores,
            data=read.text(data, "data", f"{key}."),
            command=read.text(data, "command", f"{key}."),
            validation_model=read.text(data, "validation_model", f"{key}."),
            details={k: v for k, v in data.items() if k not in named and k not in scores},
        )


@dataclass(frozen=True)
class Speed:
    """Seconds per A4 page as measured by ``benchmarks/speed.py``, with the command and machine."""

    a4_per_page_s: float
    """In a batch of pages, per page, the whole CLI run divided by the pages."""
    a4_model_s: float | None = None
    a4_one_page_run_s: float | None = None
    a4_one_page_run_rss_mb: float | None = None
    tile_size: int | None = None
    batch_size: int | None = None
    a4_tile: str = ""
    """The tile the A4 page was cleaned in, height x width px (the model's square, or the page's)."""
    machine: str = ""
    command: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v for k, v in out.items() if v not in (None, "")}

    @classmethod
    def from_report(cls, report: Mapping[str, Any], model: str) -> Speed:
        """The block from the A4 row of a ``benchmarks/speed.py --json`` report for ``model``."""
        row = next(r for r in report["rows"] if r["page"].startswith("A4"))
        return cls(
            a4_per_page_s=row["docclean_per_page_s"],
            a4_model_s=row["model_s"],
            a4_one_page_run_s=row["docclean_s"],
            a4_one_page_run_rss_mb=row["docclean_rss_mb"],
            tile_size=report["tile_size"],
            batch_size=report["batch_size"],
            a4_tile=row.get("tile", ""),
            machine=f"{report['cpus']} CPU cores, {report['machine']}, no GPU",
            command=f"python benchmarks/speed.py --model {model} --sizes a4 --repeats 3",
        )

    @classmethod
    def _read(cls, data: dict[str, Any], read: _Reader) -> Speed:
        per_page = read.positive_number(data, "a4_per_page_s", "speed.")
        if per_page is None:
            raise read.fail("speed.a4_per_page_s", "is missing")
        return cls(
            a4_per_page_s=per_page,
            a4_model_s=read.positive_number(data, "a4_model_s", "speed."),
            a4_one_page_run_s=read.positive_number(data, "a4_one_page_run_s", "speed."),
            a4_one_page_run_rss_mb=read.positive_number(data, "a4_one_page_run_rss_mb", "speed."),
            tile_size=read.positive_int(data, "tile_size", "speed."),
            batch_size=read.positive_int(data, "batch_size", "speed."),
            a4_tile=read.text(data, "a4_tile", "speed."),
            machine=read.text(data, "machine", "speed."),
            command=read.text(data, "command", "speed."),
        )


@dataclass(frozen=True)
class InitFrom:
    """The model a run started from (fine-tuning): its name, sha256 and, if grown, its architecture."""

    name: str
    sha256: str
    grown_from: str = ""

    def to_dict(self) -> dict[str, str]:
        out = {"name": self.name, "sha256": self.sha256}
        return {**out, "grown_from": self.grown_from} if self.grown_from else out


@dataclass(frozen=True)
class Training:
    """How the model was trained. The facts code reads are typed; the rest of the trainer's record
    (data folders, patch size, loss, schedule, history, ...) is kept as written in ``details``."""

    commands: list[str] = field(default_factory=list)
    """The command lines that made the model, in order (fine-tuning runs after the first); a
    shipped card may begin at ``init_from``, a model kept in zoo/ whose card holds the earlier ones."""
    never_seen_kinds: list[str] = field(default_factory=list)
    """Synthetic damage kinds no run in the model's line (it and the models it started from) saw."""
    validation_pages: list[str] = field(default_factory=list)
    init_from: InitFrom | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "commands": self.commands,
            "init_from": self.init_from.to_dict() if self.init_from else None,
            "never_seen_kinds": self.never_seen_kinds,
            "validation_pages": self.validation_pages,
            **self.details,
        }

    @classmethod
    def _read(cls, data: dict[str, Any], schema: int, read: _Reader) -> Training:
        data = dict(data)
        if schema == 1 and "command" in data:  # schema 1: one command line as text
            command = data.pop("command")
            data.setdefault("commands", [command] if command else [])
        commands = read.texts(data, "commands", "training.")
        if "never_seen_kinds" in data:
            never_seen = read.texts(data, "never_seen_kinds", "training.")
        else:  # schema 1 before the field: this run's own kinds
            from docclean.synth.generator import never_seen_kinds

            never_seen = never_seen_kinds(data)
        validation_pages = read.texts(data, "validation_pages", "training.")
        start = read.block(data, "init_from", "training.")
        init_from = None
        if start is not None:
            init_from = InitFrom(
                name=read.text(start, "name", "training.init_from."),
                sha256=read.sha256(start, "sha256", "training.init_from."),
                grown_from=read.text(start, "grown_from", "training.init_from."),
            )
        for key in ("commands", "never_seen_kinds", "validation_pages", "init_from"):
            data.pop(key, None)
        return cls(commands, never_seen, validation_pages, init_from, data)


@dataclass(frozen=True)
class ModelCard:
    """A model's card. Only ``architecture``, ``receptive_radius``, ``stride`` and ``sha256`` are
    needed to load a model; :func:`save_model` fills in the rest it knows."""

    architecture: str
    receptive_radius: int
    """How far, in pixels, the output at a pixel looks at the input (tiles overlap this much)."""
    stride: int
    """Tile sides are multiples of this."""
    sha256: str
    """Of the ``.keras`` file, checked before it is deserialised."""
    name: str = ""
    file: str = ""
    size_bytes: int | None = None
    description: str = ""
    """What the model is for, in one line."""
    output_kind: str = "grayscale"
    """One of :data:`OUTPUT_KINDS`."""
    parameters: int | None = None
    flops_per_pixel: int | None = None
    architecture_summary: str = ""
    input: str = MODEL_INPUT
    input_levels: str = "as-scanned"
    """One of :data:`INPUT_LEVELS`: ``paper-ink`` models take each page
    with its paper at 1 and its ink at 0 (:func:`docclean.inference.levels.normalize_levels`)."""
    training: Training | None = None
    validation: Validation | None = None
    """Scored on the model's own validation pages (none for a model trained on every page)."""
    reported_validation: Validation | None = None
    """For a model trained on every page: its validation twin's figures."""
    folds: dict[str, Validation] = field(default_factory=dict)
    """Its figures on each fold it never trained on (the set left out -> scores), written by
    ``benchmarks/folds.py --card``; ``validation_model`` names the twin scored in its place."""
    speed: Speed | None = None
    versions: dict[str, str] = field(default_factory=dict)
    created: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    """Other top-level facts, kept as written (``after_training``, ``rebuilt``, ``config``, ...)."""
    schema: int = CARD_SCHEMA

    @property
    def is_bilevel(self) -> bool:
        return self.output_kind == "bilevel"

    @property
    def shown_validation(self) -> Validation | None:
        """The figures that describe the model: reported from its twin, else its own."""
        return self.reported_validation or self.validation

    def folds_headline(self) -> str:
        """The spread of the model's main figure over its folds: ``FM 64.4-90.2 (4 folds)``,
        ``RMSE 0.0259 (1 fold)``; ``-`` if it has none."""
        metric = "fm" if any("fm" in v.model for v in self.folds.values()) else "rmse"
        values = sorted(v.model[metric] for v in self.folds.values() if metric in v.model)
        if not values:
            return "-"
        shown = [f"{x:.1f}" if metric == "fm" else f"{x:.4f}" for x in (values[0], values[-1])]
        spread = shown[0] if shown[0] == shown[1] else "-".join(shown)
        count = f"{len(values)} fold{'s' if len(values) > 1 else ''}"
        return f"{metric.upper()} {spread} ({count})"

    @classmethod
    def draft(cls, name: str, arch: Architecture) -> ModelCard:
        """The card of a model still being trained (not saved: no sha256 yet), for scoring it."""
        return cls(arch.name, arch.receptive_radius, arch.stride, sha256="", name=name)

    def to_dict(self) -> dict[str, Any]:
        """The card as JSON data (schema 2), in a fixed order; empty optional fields left out."""
        out: dict[str, Any] = {"schema": CARD_SCHEMA}
        for key in (
            "name",
            "architecture",
            "architecture_summary",
            "description",
            "output_kind",
            "parameters",
            "flops_per_pixel",
            "input",
        ):
            out[key] = getattr(self, key)
        if self.input_levels != "as-scanned":
            out["input_levels"] = self.input_levels
        for key in ("training", "validation", "reported_validation"):
            block = getattr(self, key)
            out[key] = block.to_dict() if block is not None else None
        out["folds"] = {name: fold.to_dict() for name, fold in self.folds.items()}
        out.update(self.extra)
        out["versions"] = self.versions
        out["created"] = self.created
        for key in ("receptive_radius", "stride", "file", "size_bytes", "sha256"):
            out[key] = getattr(self, key)
        out["speed"] = self.speed.to_dict() if self.speed else None
        keep = {"architecture", "receptive_radius", "stride", "sha256", "validation", "training"}
        return {k: v for k, v in out.items() if k in keep or v not in (None, "", {}, [])}

    @classmethod
    def from_dict(cls, data: object, source: Path | str = "model card") -> ModelCard:
        """Validate ``data`` (a schema 1 or 2 card) into a card; :class:`CardError` if it is not one."""
        read = _Reader(source)
        if not isinstance(data, Mapping):
            raise ModelError(f"{source}: not a docclean model card (not a JSON object)")
        missing = sorted({"architecture", "receptive_radius", "stride", "sha256"} - set(data))
        if missing:
            raise ModelError(f"{source}: not a docclean model card (missing {', '.join(missing)})")
        schema = data.get("schema", 1)
        if isinstance(schema, bool) or not isinstance(schema, int) or schema < 1:
            raise read.fail("schema", "must be a positive integer", schema)
        if schema > CARD_SCHEMA:
            raise ModelError(
                f"{source}: model card schema {schema} is newer than this docclean's ({CARD_SCHEMA})",
                "upgrade docclean",
            )
        from docclean.models.architectures import ARCHITECTURES

        architecture = read.text(data, "architecture")
        if architecture not in ARCHITECTURES:
            raise ModelError(
                f"{source}: architecture {architecture!r} is not one docclean knows",
                "it may need a newer docclean",
            )
        output_kind = read.text(data, "output_kind", default="grayscale")
        if output_kind not in OUTPUT_KINDS:
            raise read.fail("output_kind", f"must be one of {', '.join(OUTPUT_KINDS)}", output_kind)
        input_levels = read.text(data, "input_levels", default="as-scanned")
        if input_levels not in INPUT_LEVELS:
            raise read.fail(
                "input_levels", f"must be one of {', '.join(INPUT_LEVELS)}", input_levels
            )
        versions = read.block(data, "versions") or {}
        for key, value in versions.items():
            if not isinstance(value, str):
                raise read.fail(f"versions.{key}", "must be text", value)
        training = read.block(data, "training")
        validations = {}
        for key in ("validation", "reported_validation"):
            block = read.block(data, key)
            validations[key] = Validation._read(block, key, read) if block is not None else None
        folds = {}
        for name, block in (read.block(data, "folds") or {}).items():
            if not isinstance(block, Mapping):
                raise read.fail(f"folds.{name}", "must be an object", block)
            folds[name] = Validation._read(dict(block), f"folds.{name}", read)
        speed = read.block(data, "speed")
        known = {f.name for f in fields(cls)} - {"extra"}
        radius = read.positive_int(data, "receptive_radius", required=True)
        stride = read.positive_int(data, "stride", required=True)
        assert radius is not None and stride is not None
        arch = ARCHITECTURES[architecture]
        if stride != arch.stride:
            raise read.fail("stride", f"must be {arch.stride} for {architecture}", stride)
        if radius > arch.receptive_radius:  # smaller: saved before a weightless layer was added
            limit = f"must be at most {arch.receptive_radius} for {architecture}"
            raise read.fail("receptive_radius", limit, radius)
        return cls(
            architecture=architecture,
            receptive_radius=radius,
            stride=stride,
            sha256=read.sha256(data, "sha256"),
            name=read.text(data, "name"),
            file=read.text(data, "file"),
            size_bytes=read.positive_int(data, "size_bytes"),
            description=read.text(data, "description"),
            output_kind=output_kind,
            parameters=read.positive_int(data, "parameters"),
            flops_per_pixel=read.positive_int(data, "flops_per_pixel"),
            architecture_summary=read.text(data, "architecture_summary"),
            input=read.text(data, "input", default=MODEL_INPUT),
            input_levels=input_levels,
            training=Training._read(training, schema, read) if training is not None else None,
            validation=validations["validation"],
            reported_validation=validations["reported_validation"],
            folds=folds,
            speed=Speed._read(speed, read) if speed is not None else None,
            versions=dict(versions),
            created=read.text(data, "created"),
            extra={k: v for k, v in data.items() if k not in known},
        )


def card_path(model_path: Path) -> Path:
    """Where the card of ``model_path`` lives: beside it, ``NAME.json``."""
    return model_path.with_suffix(".json")


def read_card(model_path: Path) -> ModelCard:
    """The card beside ``model_path``, upgraded and validated; a :class:`ModelError` if it is
    missing, unreadable or not a valid card."""
    path = card_path(model_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(
            f"{model_path}: no model card {path.name} beside it",
            "docclean only loads models it trained, each with its JSON card",
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelError(f"{path}: unreadable model card ({exc})") from None
    return ModelCard.from_dict(data, path)


def write_card(model_path: Path, card: ModelCard) -> None:
    """Write ``card`` beside ``model_path`` atomically, as schema 2 JSON."""
    write_text_atomic(card_path(model_path), json.dumps(card.to_dict(), indent=2) + "\n")


def build_card(
    facts: Mapping[str, Any], *, name: str, arch: Architecture, size_bytes: int, sha256: str
) -> ModelCard:
    """The card of a model just saved as ``name``: ``facts`` (what its trainer knows, as card
    fields) completed with the architecture's geometry and the file's size and sha256, validated."""
    data = {
        "name": name,
        **facts,
        "schema": CARD_SCHEMA,
        "architecture": arch.name,
        "receptive_radius": arch.receptive_radius,
        "stride": arch.stride,
        "file": f"{name}.keras",
        "size_bytes": size_bytes,
        "sha256": sha256,
    }
    return ModelCard.from_dict(data, f"{name}.json")
