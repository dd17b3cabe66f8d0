"""Architectures, model files and cards, and exact tiled inference with a real Keras model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docclean.errors import ModelError, OutputError, UsageError
from docclean.inference.cleaner import PageCleaner
from docclean.inference.tiling import whole_page_canvas
from docclean.models.architectures import ARCHITECTURES, get_architecture, nested_base
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
    card = {"architecture": name, "receptive_radius": arch.receptive_radius, "stride": arch.stride}
    return LoadedModel(name, Path("unsaved"), card, model)


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


@pytest.mark.parametrize(
    "name", ["seed-text", "tone-unet", "tone-unet-lin", "tone-unet-edge", "fast-unet-fine-mirrored"]
)
def test_save_and_load_give_identical_output(tmp_path: Path, name: str) -> None:
    loaded = random_model(name)
    card = save_model(loaded.model, tmp_path / "m", {"architecture": name, "description": "t"})
    assert card["sha256"] == sha256_of(tmp_path / "m.keras")
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
    card = read_card(saved)
    card["sha256"] = sha256_of(saved)
    saved.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="not a Keras model archive"):
        load_model(saved)


def test_foreign_architecture_is_refused(saved: Path) -> None:
    card = read_card(saved)
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
        assert key in card
    reported = card["reported_validation"]
    if card["output_kind"] == "bilevel":  # binarization: DIBCO figures beside Otsu
        assert reported["model"]["fm"] > reported["otsu"]["fm"]
    else:
        assert reported["model"]["rmse"] < reported["no_cleaning"]["rmse"]
    assert card["speed"]["a4_per_page_s"] > 0
    assert shipped_models()[name].stat().st_size < 5_000_000
    copy = tmp_path / "copy.keras"  # a shipped model can be copied and loaded by path
    shutil.copy(loaded.path, copy)
    shutil.copy(loaded.path.with_suffix(".json"), copy.with_suffix(".json"))
    assert load_model(copy).card["sha256"] == card["sha256"]


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
    cleaner = PageCleaner(loaded)  # the architecture's 1472 px tile, and the small one
    assert [c.tile_size for c in cleaner.configs] == [1472, SMALL_TILE]
    assert cleaner.config_for(420, 540).tile_size == SMALL_TILE
    assert cleaner.config_for(3508, 2480).tile_size == 1472
    m = cleaner.config.margin
    for h, w in [(37, 300), (420, 540)]:
        page = np.random.default_rng(h).random((h, w), dtype=np.float32)
        canvas = whole_page_canvas(page, m, loaded.stride)[np.newaxis, ..., np.newaxis]
        whole = loaded.model(canvas).numpy()[0, m : m + h, m : m + w, 0]
        assert np.abs(cleaner.clean(page) - whole).max() <= 1e-4
    assert cleaner.traces == 1  # only the small shape was needed
    assert [c.tile_size for c in PageCleaner(loaded, tile_size=512).configs] == [512]
