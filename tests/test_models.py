"""Architectures, model files and cards, and exact tiled inference with a real Keras model."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ZOO, write_gray
from hypothesis import given, settings
from hypothesis import strategies as st

from docclean.errors import ModelError, OutputError, UsageError
from docclean.inference.cleaner import PageCleaner
from docclean.inference.tiling import TileConfig, run_tiled, whole_page_canvas
from docclean.models.architectures import ARCHITECTURES, get_architecture, nested_base
from docclean.models.card import ModelCard
from docclean.models.store import (
    DEFAULT_BINARIZE_MODEL,
    DEFAULT_MODEL,
    LoadedModel,
    load_model,
    read_card,
    save_model,
    sha256_of,
    shipped_models,
)


def random_model(name: str = "seed-text", seed: int = 0) -> LoadedModel:
    import keras

    arch = get_architecture(name)
    keras.utils.set_random_seed(seed)
    model = arch.build()
    rng = np.random.default_rng(seed)
    for weight in model.weights:  # strong random weights so every input pixel matters
        weight.assign(rng.normal(0, 0.4, weight.shape).astype("float32"))
    return LoadedModel(name, Path("unsaved"), ModelCard.draft(name, arch), model)


def test_unknown_architecture_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match="seed-text"):
        get_architecture("resnet-9000")


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_receptive_radius_is_honest(name: str) -> None:
    """Pixels beyond the declared radius never matter; at the radius they do, for some phase."""
    import keras

    arch = get_architecture(name)
    keras.config.set_dtype_policy("float64")  # so that far-reaching but tiny effects show
    try:
        model = arch.build()
    finally:
        keras.config.set_dtype_policy("float32")
    base = nested_base(model)  # a -mirrored model averages its nested base's outputs
    head = (base or model).layers[-1]
    head.activation = keras.activations.linear  # logits: a sigmoid would saturate
    rng = np.random.default_rng(1)
    for weight in model.weights:  # positive weights over fan-in: no dead ReLUs, no saturation
        shape = weight.shape  # a depthwise kernel (h, w, c, 1) sums over h*w inputs only
        summed = shape[:2] if "depthwise" in weight.path else shape[:-1]
        fan_in = max(1, int(np.prod(summed)))
        weight.assign(np.abs(rng.normal(0, 1, weight.shape)) / fan_in)
    size = -(-(4 * arch.receptive_radius) // arch.stride) * arch.stride + 8 * arch.stride
    paper = 0.8 + 0.1 * rng.random((1, size, size, 1))  # light, within Despeckle's spread
    r = arch.receptive_radius

    def specks_at(distance: int, row: int) -> np.ndarray:
        """The paper with lone dark pixels ``distance`` rows either side of ``row``."""
        x = paper.copy()
        x[0, [row - distance, row + distance], ::2] = 0.0
        return x

    reach = 0
    for row in range(size // 2, size // 2 + arch.stride):  # every phase of the stride grid
        x = specks_at(r, row)  # darkening their outer neighbours unmasks them, if that reaches
        far = x.copy()
        far[0, row + r + 1 :] = 0.0
        far[0, : row - r] = 0.0
        assert np.array_equal(model(far).numpy()[0, row], model(x).numpy()[0, row])
        x = specks_at(r - 1, row)
        base = model(x).numpy()
        for d in (r, -r):
            near = x.copy()
            near[0, row + d] = 3.0  # brighter than anything: max pooling passes it on
            if not np.array_equal(model(near).numpy()[0, row], base[0, row]):
                reach = r
    assert reach == arch.receptive_radius
    assert isinstance(model, keras.Model)


def test_tone_unet_lin_grows_from_tone_unet_fine_and_adds_slope_times_page() -> None:
    """Grown (from tone-unet too), it computes what it grew from; its slope adds ``slope * page``."""
    import keras

    from docclean.models.architectures import grow

    lin_arch = get_architecture("tone-unet-lin")
    fine = random_model("tone-unet-fine").model
    lin = grow(fine, lin_arch)
    assert lin.count_params() == fine.count_params() + 4 * 4 * 32 + 1
    page = np.random.default_rng(2).uniform(0.2, 0.8, (1, 64, 64, 1)).astype(np.float32)
    assert np.array_equal(np.asarray(lin(page)), np.asarray(fine(page)))  # no specks to fill
    base = random_model("tone-unet").model  # grows through tone-unet-fine
    assert np.array_equal(np.asarray(grow(base, lin_arch)(page)), np.asarray(base(page)))

    fresh = lin_arch.build()  # moderate logits, unlike random_model's
    fresh.layers[-1].activation = keras.activations.linear
    before = np.asarray(fresh(page))
    kernel, _ = fresh.get_layer("slope").get_weights()
    fresh.get_layer("slope").set_weights([kernel, np.array([3.0], np.float32)])
    np.testing.assert_allclose(np.asarray(fresh(page)) - before, 3.0 * page, atol=1e-5)


def test_edge_architectures_grow_exactly_and_their_correction_reaches_the_output() -> None:
    """Grown, it computes what it grew from; its correction, once trained, reaches the output."""
    from docclean.models.architectures import grow

    edge_arch = get_architecture("tone-unet-edge")
    lin = random_model("tone-unet-lin").model
    edge = grow(lin, edge_arch)
    page = np.random.default_rng(3).uniform(0.2, 0.8, (1, 64, 64, 1)).astype(np.float32)
    assert np.array_equal(np.asarray(edge(page)), np.asarray(lin(page)))
    base = random_model("tone-unet").model  # grows through tone-unet-fine and tone-unet-lin
    assert np.array_equal(np.asarray(grow(base, edge_arch)(page)), np.asarray(base(page)))
    binarizer = random_model("fast-unet").model
    fast_edge = get_architecture("fast-unet-edge")
    assert np.array_equal(np.asarray(grow(binarizer, fast_edge)(page)), np.asarray(binarizer(page)))

    fresh = edge_arch.build()  # moderate logits, unlike random_model's
    before = np.asarray(fresh(page))
    layer = fresh.get_layer("edge_correction")  # as training would move it off zero
    kernel, bias = layer.get_weights()
    layer.set_weights([np.random.default_rng(4).normal(0, 0.5, kernel.shape), bias])
    assert (np.abs(np.asarray(fresh(page)) - before) > 1e-4).mean() > 0.9


def four_views(net: Any, page: np.ndarray) -> list[np.ndarray]:
    """``net`` on ``page`` as it is and mirrored left-right, top-bottom and both ways, each
    output mirrored back."""
    flips = [(), (2,), (1,), (1, 2)]
    return [np.flip(np.asarray(net(np.flip(page, f).copy())), f) for f in flips]


def test_the_specialist_averages_four_mirrored_views_of_its_one_view_start() -> None:
    """The shipped specialist is its previous one-view net (zoo) run on the page as it is and
    mirrored left-right, top-bottom and both ways."""
    shipped = load_model("noisyoffice-tone-unet")
    start = load_model(ZOO / "noisyoffice-tone-unet-v2.keras").model
    assert shipped.card.architecture == "tone-unet-edge-mirrored4"
    page = np.random.default_rng(7).uniform(0.3, 0.95, (1, 96, 128, 1)).astype(np.float32)
    views = four_views(start, page)
    assert np.abs(views[3] - views[0]).max() > 1e-3  # the views differ
    assert np.allclose(np.asarray(shipped.model(page)), np.mean(views, axis=0), atol=1e-5)


def test_four_mirrored_views_grow_from_the_base_and_unwrap_back_into_it() -> None:
    from docclean.models.architectures import flops_per_pixel, grow, unwrap

    arch = get_architecture("tone-unet-edge-mirrored4")
    base = random_model("tone-unet-edge").model
    four = grow(base, arch)
    page = np.random.default_rng(6).uniform(0.2, 0.8, (1, 64, 80, 1)).astype(np.float32)
    views = four_views(base, page)
    assert np.abs(views[3] - views[0]).max() > 1e-3  # the views differ
    assert np.allclose(np.asarray(four(page)), np.mean(views, axis=0), atol=1e-5)
    assert flops_per_pixel(four) == 4 * flops_per_pixel(base) and arch.views == 4
    alone = unwrap(four, get_architecture("tone-unet-edge"))
    assert np.allclose(np.asarray(alone(page)), views[0], atol=1e-6)


def test_mirrored_architecture_averages_mirrored_views_of_the_model_it_grew_from() -> None:
    from docclean.models.architectures import flops_per_pixel, grow

    arch = get_architecture("fast-unet-fine-mirrored")
    base = random_model("fast-unet-fine").model
    mirrored = grow(base, arch)
    page = np.random.default_rng(5).uniform(0.2, 0.8, (1, 64, 80, 1)).astype(np.float32)

    def run(x: np.ndarray) -> np.ndarray:
        return np.asarray(base(np.ascontiguousarray(x)))

    left_right = run(page[:, :, ::-1])[:, :, ::-1]
    top_bottom = run(page[:, ::-1])[:, ::-1]
    assert np.abs(left_right - run(page)).max() > 1e-2  # the views differ: averaging does work
    average = (left_right + top_bottom) / 2
    assert np.allclose(np.asarray(mirrored(page)), average, atol=1e-6)
    assert flops_per_pixel(mirrored) == 2 * flops_per_pixel(base)
    fresh = arch.build()  # a soft threshold at mid-gray, where random weights saturate
    soft = np.asarray(fresh(page))
    level = float(np.quantile(soft, 0.3))  # a binarizer's decision level, set after training
    fresh.get_layer("clean").set_weights([np.float32(level)])
    decided = np.asarray(fresh(page)) >= 0.5
    assert np.array_equal(decided, soft >= level) and 0.65 < decided.mean() < 0.75
    binarizer = random_model("fast-unet").model  # grows through fast-unet-fine
    through = grow(binarizer, arch)
    flipped = np.asarray(binarizer(np.ascontiguousarray(page[:, ::-1])))[:, ::-1]
    plain = np.asarray(binarizer(np.ascontiguousarray(page[:, :, ::-1])))[:, :, ::-1] + flipped
    assert np.allclose(np.asarray(through(page)), plain / 2, atol=1e-6)


@pytest.fixture(scope="module")
def cleaner() -> PageCleaner:
    return PageCleaner(random_model(), tile_size=48, batch_size=3)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 120), st.integers(1, 120), st.integers(0, 1000))
def test_tiled_keras_inference_equals_whole_page(
    cleaner: PageCleaner, h: int, w: int, seed: int
) -> None:
    page = np.random.default_rng(seed).random((h, w), dtype=np.float32)
    m = cleaner.config.margin
    canvas = whole_page_canvas(page, m, cleaner.loaded.stride)
    whole = cleaner.loaded.model(canvas[np.newaxis, ..., np.newaxis]).numpy()[
        0, m : m + h, m : m + w, 0
    ]
    assert np.abs(cleaner.clean(page) - whole).max() <= 1e-4


@pytest.mark.parametrize("name", sorted(set(ARCHITECTURES) - {"seed-text"}))
def test_other_architectures_tile_exactly(name: str) -> None:
    loaded = random_model(name)
    tile = 2 * loaded.receptive_radius + 4 * loaded.stride
    tile = -(-tile // loaded.stride) * loaded.stride + 2 * loaded.stride
    cleaner = PageCleaner(loaded, tile_size=tile, batch_size=2)
    m = cleaner.config.margin
    for h, w in [(1, 1), (37, 300), (150, 64)]:
        page = np.random.default_rng(h).random((h, w), dtype=np.float32)
        canvas = whole_page_canvas(page, m, loaded.stride)[np.newaxis, ..., np.newaxis]
        whole = loaded.model(canvas).numpy()[0, m : m + h, m : m + w, 0]
        assert np.abs(cleaner.clean(page) - whole).max() <= 1e-4


def test_graph_is_traced_once_for_pages_of_any_size() -> None:
    cleaner = PageCleaner(random_model(), tile_size=32, batch_size=2)
    for shape in [(5, 7), (100, 41), (33, 250)]:
        out = cleaner.clean(np.full(shape, 0.5, np.float32))
        assert out.shape == shape and out.dtype == np.float32
    assert cleaner.traces == 1


def test_pages_cleaned_on_two_threads_at_once_trace_once_and_match() -> None:
    from concurrent.futures import ThreadPoolExecutor

    pages = [np.random.default_rng(seed).random((90, 70), np.float32) for seed in range(6)]
    alone = [PageCleaner(random_model(), tile_size=32, batch_size=2).clean(p) for p in pages]
    cleaner = PageCleaner(random_model(), tile_size=32, batch_size=2)
    with ThreadPoolExecutor(2) as threads:
        together = list(threads.map(cleaner.clean, pages))
    assert cleaner.traces == 1
    for one, other in zip(alone, together, strict=True):
        np.testing.assert_array_equal(one, other)


@pytest.mark.parametrize(
    "name", ["seed-text", "tone-unet", "tone-unet-lin", "tone-unet-edge", "fast-unet-fine-mirrored"]
)
def test_save_and_load_give_identical_output(tmp_path: Path, name: str) -> None:
    loaded = random_model(name)
    card = save_model(loaded.model, tmp_path / "m", {"architecture": name, "description": "t"})
    assert card.sha256 == sha256_of(tmp_path / "m.keras")
    radius = json.loads((tmp_path / "m.json").read_text())["receptive_radius"]
    assert radius == get_architecture(name).receptive_radius
    again = load_model(tmp_path / "m.keras")
    page = np.random.default_rng(4).random((70, 90), dtype=np.float32)
    a = PageCleaner(loaded, batch_size=2).clean(page)
    b = PageCleaner(again, batch_size=2).clean(page)
    assert np.array_equal(a, b)


def test_tone_head_can_copy_a_page_exactly_or_threshold_it() -> None:
    """sigmoid(gain * logit(x) + bias): gain 1, bias 0 is the page itself; a large gain thresholds."""
    model = get_architecture("tone-unet").build()
    gain, bias = model.get_layer("gain"), model.get_layer("bias")
    page = np.random.default_rng(5).uniform(0.01, 0.99, (1, 64, 64, 1)).astype("float32")
    for layer, value in ((gain, 1.0), (bias, 0.0)):
        layer.kernel.assign(np.zeros(layer.kernel.shape, "float32"))
        layer.bias.assign([value])
    assert np.abs(model(page).numpy() - page).max() < 1e-5
    gain.bias.assign([50.0])
    bias.bias.assign([-50.0 * np.log(0.4 / 0.6)])  # threshold at 0.4
    assert np.array_equal(model(page).numpy() > 0.5, page > 0.4)


def test_models_are_never_overwritten_by_default(tmp_path: Path) -> None:
    loaded = random_model()
    save_model(loaded.model, tmp_path / "m", {"architecture": "seed-text"})
    before = sha256_of(tmp_path / "m.keras")
    with pytest.raises(OutputError, match="already exists"):
        save_model(loaded.model, tmp_path / "m", {"architecture": "seed-text"})
    assert sha256_of(tmp_path / "m.keras") == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    save_model(random_model().model, tmp_path / "m", {"architecture": "seed-text"})
    return tmp_path / "m.keras"


def test_tampered_model_is_refused(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    data[len(data) // 2] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its card"):
        load_model(saved)


def test_model_without_card_is_refused(saved: Path) -> None:
    saved.with_suffix(".json").unlink()
    with pytest.raises(ModelError, match="no model card"):
        load_model(saved)


def test_truncated_model_with_matching_card_is_refused(saved: Path) -> None:
    saved.write_bytes(saved.read_bytes()[:500])
    card = json.loads(saved.with_suffix(".json").read_text())
    card["sha256"] = sha256_of(saved)
    saved.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="not a Keras model archive"):
        load_model(saved)


def test_foreign_architecture_is_refused(saved: Path) -> None:
    card = json.loads(saved.with_suffix(".json").read_text())
    card["architecture"] = "evil-lambda"
    saved.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="not one docclean knows"):
        load_model(saved)


def test_model_whose_layers_differ_from_its_architecture_is_refused(tmp_path: Path) -> None:
    import keras

    inputs = keras.Input((None, None, 1))
    outputs = keras.layers.Conv2D(1, 5, padding="same", activation="sigmoid")(inputs)
    impostor = keras.Model(inputs, outputs)
    with pytest.raises(ModelError, match="do not fit the seed-text"):
        save_model(impostor, tmp_path / "m", {"architecture": "seed-text"})
    impostor.save(tmp_path / "m.keras")  # saved by hand, with a card whose sha256 agrees
    card = {"architecture": "seed-text", "receptive_radius": 5, "stride": 2}
    card["sha256"] = sha256_of(tmp_path / "m.keras")
    (tmp_path / "m.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="not those of the seed-text"):
        load_model(tmp_path / "m.keras")


def test_unknown_model_name_lists_shipped_models() -> None:
    with pytest.raises(ModelError, match="docclean models"):
        load_model("no-such-model")


@pytest.mark.parametrize("name", [DEFAULT_MODEL, DEFAULT_BINARIZE_MODEL])
def test_shipped_default_models_load_with_complete_cards(tmp_path: Path, name: str) -> None:
    assert name in shipped_models(), "the default models must ship in models/"
    loaded = load_model(name)
    card = loaded.card
    for key in ("architecture", "parameters", "flops_per_pixel", "training", "versions", "sha256",
                "output_kind", "speed"):  # fmt: skip
        assert getattr(card, key)
    reported = card.reported_validation
    assert reported is not None and card.speed is not None
    if card.output_kind == "bilevel":  # binarization: DIBCO figures beside Otsu
        assert reported.model["fm"] > reported.scores["otsu"]["fm"]
    else:
        assert reported.model["rmse"] < reported.scores["no_cleaning"]["rmse"]
    assert card.speed.a4_per_page_s > 0
    assert card.folds  # figures on sets it (or its twin) never trained on, beside the classics'
    for fold in card.folds.values():
        if card.output_kind == "bilevel":
            assert fold.model["fm"] > max(fold.scores["otsu"]["fm"], fold.scores["sauvola"]["fm"])
        else:
            assert fold.model["rmse"] < fold.scores["no_cleaning"]["rmse"] / 3
    assert shipped_models()[name].stat().st_size < 5_000_000
    copy = tmp_path / "copy.keras"  # a shipped model can be copied and loaded by path
    shutil.copy(loaded.path, copy)
    shutil.copy(loaded.path.with_suffix(".json"), copy.with_suffix(".json"))
    assert load_model(copy).card.sha256 == card.sha256


def test_flops_per_pixel_counts_every_convolution() -> None:
    from docclean.models.architectures import flops_per_pixel

    # seed-text: 3x3x1->64 at full size, 3x3x64->64 at half size, 3x3x64->1 at full size (+ biases)
    macs = (9 * 64 + 64) + (9 * 64 * 64 + 64) / 4 + (9 * 64 + 1)
    assert flops_per_pixel(get_architecture("seed-text").build()) == round(2 * macs)
    # fast-unet does about a tenth of that work, most of it at 1/4 to 1/16 size
    assert flops_per_pixel(get_architecture("fast-unet").build()) < 2 * round(2 * macs) / 10


def test_small_pages_use_the_small_tile_and_stay_exact() -> None:
    from docclean.inference.cleaner import SMALL_TILE

    loaded = random_model("fast-unet")
    cleaner = PageCleaner(loaded)  # the architecture's 1472 px tile, the small one, the page's
    page_tile = (1760 + 192, 2560 + 192)  # cores on the 16-px grid, margins of 96 px
    turned = page_tile[::-1]
    assert [c.shape for c in cleaner.configs] == [
        (1472, 1472),
        (SMALL_TILE,) * 2,
        page_tile,
        turned,
    ]
    assert cleaner.config_for(420, 540).tile_size == SMALL_TILE
    assert cleaner.config_for(3508, 2480).shape == page_tile  # portrait A4 at 300 dpi: 2 tiles
    assert cleaner.config_for(3300, 2550).shape == page_tile  # US Letter: 2 tiles
    assert cleaner.config_for(2480, 3508).shape == turned  # landscape A4: 2 turned tiles
    assert cleaner.config_for(2000, 2000).shape == (1472, 1472)  # 4 squares: less work
    m = cleaner.config.margin
    for h, w in [(37, 300), (420, 540)]:
        page = np.random.default_rng(h).random((h, w), dtype=np.float32)
        canvas = whole_page_canvas(page, m, loaded.stride)[np.newaxis, ..., np.newaxis]
        whole = loaded.model(canvas).numpy()[0, m : m + h, m : m + w, 0]
        assert np.abs(cleaner.clean(page) - whole).max() <= 1e-4
    assert cleaner.traces == 1  # only the small shape was needed
    assert [c.tile_size for c in PageCleaner(loaded, tile_size=512).configs] == [512]


def test_tiles_wider_than_high_stay_exact() -> None:
    loaded = random_model("fast-unet")
    m, stride = 96, loaded.stride
    config = TileConfig(2 * m + 2 * stride, m, batch_size=1, tile_width=2 * m + 5 * stride)
    config.validate(loaded.receptive_radius, stride)
    page = np.random.default_rng(4).random((150, 170), dtype=np.float32)  # 5 x 3 tiles
    tiled = run_tiled(
        page, lambda batch: loaded.model(batch[..., np.newaxis]).numpy()[..., 0], config
    )
    canvas = whole_page_canvas(page, m, stride)[np.newaxis, ..., np.newaxis]
    whole = loaded.model(canvas).numpy()[0, m : m + 150, m : m + 170, 0]
    assert np.abs(tiled - whole).max() <= 1e-4


# --- the typed model card ---------------------------------------------------------------------

SCHEMA_1_CARD = {  # the shape of the cards shipped before the card was typed
    "schema": 1,
    "name": "old",
    "architecture": "seed-text",
    "description": "an old card",
    "output_kind": "bilevel",
    "parameters": 1234,
    "training": {
        "synthetic_pairs": 0,
        "history": [{"step": 1000, "loss": 0.02}],
        "command": "python bench/train_long.py --steps 4000",
        "init_from": {"name": "older", "sha256": "ab" * 32, "grown_from": "fast-unet"},
    },
    "after_training": {"grown_into": "fast-unet-mirrored", "decision_level": 0.65},
    "rebuilt": [{"date": "2026-12-01", "why": "Despeckle"}],
    "validation": None,
    "reported_validation": {
        "pages": 10,
        "model": {"fm": 90.17, "psnr": 19.07},
        "otsu": {"fm": 86.6, "psnr": 17.8},
        "data": "DIBCO 2016",
        "validation_model": "old-0914",
    },
    "receptive_radius": 5,
    "stride": 2,
    "size_bytes": 1000,
    "sha256": "cd" * 32,
    "speed": {"a4_per_page_s": 0.75, "a4_one_page_run_rss_mb": 1049, "command": "python x"},
}


def test_schema_1_cards_are_upgraded_and_round_trip() -> None:
    from docclean.models.card import CARD_SCHEMA
    from docclean.synth.generator import DEGRADATIONS

    card = ModelCard.from_dict(SCHEMA_1_CARD, "old.json")
    assert card.schema == CARD_SCHEMA == 2 and card.is_bilevel
    assert card.training is not None and card.training.commands == [
        "python bench/train_long.py --steps 4000"
    ]
    assert card.training.never_seen_kinds == list(DEGRADATIONS)  # no synthetic pages: none seen
    assert card.training.init_from is not None and card.training.init_from.grown_from == "fast-unet"
    assert card.training.details["history"] == [{"step": 1000, "loss": 0.02}]
    shown = card.shown_validation
    assert shown is card.reported_validation and shown is not None
    assert shown.headline() == "FM 90.2" and shown.scores["otsu"]["fm"] == 86.6
    assert shown.validation_model == "old-0914"
    assert card.extra["after_training"]["decision_level"] == 0.65 and card.extra["rebuilt"]
    assert card.speed is not None and card.speed.a4_one_page_run_rss_mb == 1049
    again = json.loads(json.dumps(card.to_dict()))
    assert again["schema"] == 2 and "command" not in again["training"]
    assert ModelCard.from_dict(again, "new.json") == card


def test_speed_block_comes_from_the_benchmark_report_and_round_trips() -> None:
    from docclean.models.card import Speed

    row = {"page": "A4 300 dpi", "tile": "1952x2752", "docclean_per_page_s": 0.96,
           "model_s": 0.97, "docclean_s": 6.2, "docclean_rss_mb": 1475}  # fmt: skip
    report = {"rows": [{"page": "1 MP"}, row], "tile_size": 1472, "batch_size": 1, "cpus": 2,
              "machine": "x86_64"}  # fmt: skip
    speed = Speed.from_report(report, "dibco-fast-unet")
    assert (speed.a4_per_page_s, speed.a4_tile, speed.tile_size) == (0.96, "1952x2752", 1472)
    assert (
        speed.command == "python benchmarks/speed.py --model dibco-fast-unet --sizes a4 --repeats 3"
    )
    card = ModelCard.from_dict({**SCHEMA_1_CARD, "speed": speed.to_dict()}, "new.json")
    assert card.speed == speed


def test_every_card_in_the_repository_reads_and_round_trips() -> None:
    root = Path(__file__).resolve().parents[1]
    paths = sorted((root / "models").glob("*.keras")) + sorted((root / "zoo").glob("*.keras"))
    assert len(paths) >= 12
    for path in paths:
        card = read_card(path)
        assert card.name == path.stem and card.size_bytes == path.stat().st_size
        assert card.shown_validation is not None and card.training is not None
        assert ModelCard.from_dict(json.loads(json.dumps(card.to_dict())), path) == card


@pytest.mark.parametrize(
    "shipped", ["office-tone-unet", "noisyoffice-tone-unet", "dibco-fast-unet"]
)
def test_the_shipped_cards_name_the_docclean_train_runs_since_a_model_in_the_zoo(
    shipped: str,
) -> None:
    """The shipped models' cards list only `docclean train` commands; the first starts from a
    model kept in zoo/, whose card holds the rest, and each later one from the model the run before
    it wrote (init_from names the last run's start, with its sha256 when that is the zoo model)."""
    import itertools
    import shlex

    from docclean.models.store import load_model, sha256_of

    root = Path(__file__).resolve().parents[1]
    training = load_model(shipped).card.training
    assert training is not None and training.commands and training.init_from is not None
    assert all(command.startswith("docclean train ") for command in training.commands)
    runs = [shlex.split(command) for command in training.commands]
    start = root / runs[0][runs[0].index("--init-from") + 1]
    assert start.parent == root / "zoo" and start.is_file()
    for before, after in itertools.pairwise(runs):
        assert after[after.index("--init-from") + 1] == before[before.index("-o") + 1] + ".keras"
    last_start = Path(runs[-1][runs[-1].index("--init-from") + 1])
    assert last_start.stem == training.init_from.name
    if len(runs) == 1:
        assert sha256_of(start) == training.init_from.sha256


MINIMAL = {"architecture": "seed-text", "receptive_radius": 5, "stride": 2, "sha256": "ef" * 32}
BAD_CARDS: dict[str, tuple[dict, str]] = {
    "stride zero": ({"stride": 0}, "'stride' must be a positive integer"),
    "radius negative": ({"receptive_radius": -3}, "'receptive_radius' must be a positive"),
    "radius as text": ({"receptive_radius": "96"}, "'receptive_radius' must be a positive"),
    "stride a float": ({"stride": 16.0}, "'stride' must be a positive integer"),
    "stride true": ({"stride": True}, "'stride' must be a positive integer"),
    "stride null": ({"stride": None}, "'stride' is missing"),
    "short sha256": ({"sha256": "abc123"}, "'sha256' must be 64 lowercase hex"),
    "sha256 number": ({"sha256": 12}, "'sha256' must be 64 lowercase hex"),
    "unknown architecture": ({"architecture": "evil-lambda"}, "not one docclean knows"),
    "architecture a list": ({"architecture": ["seed-text"]}, "'architecture' must be text"),
    "size zero": ({"size_bytes": 0}, "'size_bytes' must be a positive integer"),
    "parameters text": ({"parameters": "many"}, "'parameters' must be a positive integer"),
    "output kind": ({"output_kind": "color"}, "'output_kind' must be one of"),
    "training a list": ({"training": []}, "'training' must be an object"),
    "kinds not a list": ({"training": {"never_seen_kinds": "blur"}}, "never_seen_kinds"),
    "validation pages": (
        {"validation": {"pages": 0, "model": {"rmse": 0.02}}},
        "'validation.pages' must be a positive integer",
    ),
    "validation figure": (
        {"validation": {"pages": 3, "model": {"rmse": "low"}}},
        "'validation.model.rmse' must be a finite number",
    ),
    "folds a list": ({"folds": []}, "'folds' must be an object"),
    "fold a number": ({"folds": {"bickley": 3}}, "'folds.bickley' must be an object"),
    "fold figure": (
        {"folds": {"bickley": {"pages": 7, "model": {"fm": "high"}}}},
        "'folds.bickley.model.fm' must be a finite number",
    ),
    "speed zero": ({"speed": {"a4_per_page_s": 0}}, "'speed.a4_per_page_s' must be a positive"),
    "init_from sha": (
        {"training": {"init_from": {"name": "x", "sha256": "nope"}}},
        "'training.init_from.sha256'",
    ),
    "newer schema": ({"schema": 99}, "schema 99 is newer"),
    "another stride": ({"stride": 4}, "'stride' must be 2 for seed-text"),
    "wider radius": ({"receptive_radius": 10_000}, "'receptive_radius' must be at most 5"),
    "missing stride": ({"stride": ...}, "missing stride"),
}


@pytest.mark.parametrize("case", list(BAD_CARDS))
def test_cards_that_do_not_validate_are_refused_naming_file_and_field(
    tmp_path: Path, case: str
) -> None:
    changes, message = BAD_CARDS[case]
    data = {**MINIMAL, **changes}
    data = {k: v for k, v in data.items() if v is not ...}
    (tmp_path / "m.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match=re.escape(message)) as caught:
        read_card(tmp_path / "m.keras")
    assert str(tmp_path / "m.json") in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_malformed_card_whose_sha256_matches_exits_3_with_one_line(
    saved: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from docclean.cli.main import app
    from docclean.errors import ExitCode

    card = json.loads(saved.with_suffix(".json").read_text())
    card["stride"] = 0
    saved.with_suffix(".json").write_text(json.dumps(card))
    page = tmp_path / "in.png"
    write_gray(page, np.full((20, 20), 0.5, np.float32))
    args = ["clean", str(page), "-o", str(tmp_path / "out"), "--model", str(saved)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == ExitCode.MODEL, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "m.json" in errors[0] and "'stride'" in errors[0], result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def _rewrite_archive(model: Path, **members: bytes) -> None:
    """Replace members of a .keras archive and make its card's sha256 agree again."""
    import zipfile

    with zipfile.ZipFile(model) as archive:
        contents = {info.filename: archive.read(info) for info in archive.infolist()}
    contents.update(members)
    with zipfile.ZipFile(model, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    card = json.loads(model.with_suffix(".json").read_text())
    card["sha256"] = sha256_of(model)
    model.with_suffix(".json").write_text(json.dumps(card))


def _huge_layer(model: Path) -> None:
    import zipfile

    with zipfile.ZipFile(model) as archive:
        config = json.loads(archive.read("config.json"))
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "Conv2D":
            layer["config"]["filters"] = 2_000_000_000  # 3x3x1 x 2e9 floats: 72 GB if built
            break
    _rewrite_archive(model, **{"config.json": json.dumps(config).encode()})


def _huge_weights(model: Path) -> None:
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(model) as archive:
        weights = archive.read("model.weights.h5")
    buffer = io.BytesIO(weights)
    with h5py.File(buffer, "a") as store:
        first = next(name for name in _datasets(store))
        del store[first]
        # declared 80 GB, stored as nothing (unwritten chunks): a few KB in the archive
        store.create_dataset(first, shape=(100_000, 200_000), dtype="float32", chunks=(64, 64))
    _rewrite_archive(model, **{"model.weights.h5": buffer.getvalue()})


def _datasets(store: object) -> list[str]:
    import h5py

    names: list[str] = []
    assert isinstance(store, h5py.File)
    store.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    return names


def _extra_member(model: Path) -> None:
    _rewrite_archive(model, **{"assets/big.bin": b"\0" * 1000})


@pytest.mark.parametrize(
    ("harm", "cause"),
    [
        (_huge_layer, "not those of the seed-text architecture: Conv2D"),
        (_huge_weights, "has shape (100000, 200000)"),
        (_extra_member, "not a docclean model archive"),
    ],
)
def test_a_small_model_file_declaring_huge_layers_is_refused_before_keras_builds_them(
    saved: Path, tmp_path: Path, harm, cause: str
) -> None:
    from typer.testing import CliRunner

    from docclean.cli.main import app
    from docclean.errors import ExitCode

    harm(saved)
    assert saved.stat().st_size < 1_000_000  # a small file
    write_gray(tmp_path / "in.png", np.full((20, 20), 0.5, np.float32))
    args = ["clean", str(tmp_path / "in.png"), "-o", str(tmp_path / "o"), "--model", str(saved)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == ExitCode.MODEL, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and cause in errors[0], result.stderr
    assert "Traceback" not in result.output


# --- `docclean models` ------------------------------------------------------------------------


def _models_on_a_terminal(columns: int) -> str:
    """`docclean models` run in a pseudo-terminal COLUMNS wide; its output, colours removed."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "50", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    done = subprocess.run(
        [sys.executable, "-m", "docclean", "models"],
        stdin=follower, stdout=follower, stderr=subprocess.PIPE, env=env, timeout=120,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert done.returncode == 0, done.stderr
    text = b"".join(chunks).decode()
    return re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\r\n", "\n")


@pytest.mark.parametrize("columns", [60, 80, 120, 200])
def test_models_shows_what_each_is_for_at_any_width(columns: int) -> None:
    output = _models_on_a_terminal(columns)
    lines = output.splitlines()
    assert all(len(line.rstrip()) <= columns for line in lines), output
    shipped = shipped_models()
    for name, path in shipped.items():
        label = next(line for line in lines if line.lstrip().startswith(name))
        purpose = read_card(path).description
        assert purpose
        assert " ".join(purpose.split()[:2]) in label, output  # what it is for, on its own row
    words = " ".join(output.split())
    for path in shipped.values():  # every word of each purpose is there, wrapped or not
        assert all(word in words for word in read_card(path).description.split()), output
    assert f"{DEFAULT_MODEL} (default)" in output
    assert f"{DEFAULT_BINARIZE_MODEL} (--binarize)" in output
    if columns >= 120:
        assert "RMSE 0.02" in output and "FM 9" in output  # validation figures when they fit


def test_the_wheel_carries_the_three_shipped_models_and_nothing_else() -> None:
    """What `pip wheel .` packs (pyproject's force-include): models/ only, at most 3 models, 3 MB."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())
    packed = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    models = [root / source for source in packed if source.endswith(".keras")]
    assert all(m.parent == root / "models" for m in models)
    assert {m.stem for m in models} == set(shipped_models()) == {
        DEFAULT_MODEL, DEFAULT_BINARIZE_MODEL, "noisyoffice-tone-unet"
    }  # fmt: skip
    assert all(f"models/{m.stem}.json" in packed for m in models)  # each with its card
    assert sum(m.stat().st_size for m in models) <= 3_000_000
