"""Synthetic pairs: each degradation does what it says, pairs stay aligned, seeds repeat, the CLI."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import clean_page, write_gray
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from docclean.cli.main import app
from docclean.errors import ExitCode, UsageError
from docclean.io.images import read_image
from docclean.synth import generator as synth
from docclean.synth import render
from docclean.training.data import Pair

runner = CliRunner()
SEEDS = range(8)


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    """A 96x128 page: white paper (1.0) with dark 'words'."""
    return clean_page(96, 128, np.random.default_rng(0))


def apply(name: str, page: np.ndarray, seed: int) -> np.ndarray:
    return synth.DEGRADATIONS[name](page, np.random.default_rng(seed))


def test_registry_is_consistent() -> None:
    assert set(synth.CHANCE) == set(synth.DEGRADATIONS) == set(synth.ORDER)
    assert set(synth.HISTORICAL_CHANCE) <= set(synth.DEGRADATIONS) >= set(synth.ALONE)
    original = "faded-ink bleed-through stain fold wrinkles rotation lighting edge-shadow blur"
    assert list(synth.DEGRADATIONS)[:12] == [*original.split(), "noise", "salt-pepper", "jpeg"]
    assert set(synth.DEGRADATIONS) >= synth.GEOMETRIC
    assert all(summary.endswith(".") for summary in synth.describe_kinds().values())  # whole


@pytest.mark.parametrize("name", list(synth.DEGRADATIONS))
def test_every_kind_changes_the_page_and_keeps_float32_in_range(
    name: str, page: np.ndarray
) -> None:
    before = page.copy()
    for seed in SEEDS:
        out = apply(name, page, seed)
        assert out.dtype == np.float32 and out.shape == page.shape
        assert out.min() >= 0.0 and out.max() <= 1.0
        assert np.array_equal(out, page) == (name == "undamaged")
        assert np.array_equal(out, apply(name, page, seed))  # the same seed, the same page
    assert np.array_equal(page, before)  # pure: the input is left alone


@pytest.mark.parametrize("name", list(synth.DEGRADATIONS))
def test_every_kind_copes_with_tiny_and_thin_pages(name: str) -> None:
    for shape in [(1, 1), (1, 7), (7, 1), (5, 300), (300, 5)]:
        page = np.ones(shape, np.float32)
        page[::2] = 0.1
        for seed in range(3):
            out = apply(name, page, seed)
            assert out.shape == shape and out.dtype == np.float32
            assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize(
    "name", ["stain", "fold", "wrinkles", "lighting", "edge-shadow", "bleed-through"]
)
def test_darkening_kinds_darken_the_paper_somewhere(name: str, page: np.ndarray) -> None:
    paper = page == 1.0
    for seed in SEEDS:
        assert apply(name, page, seed)[paper].min() < 0.96, seed


def test_stains_only_darken(page: np.ndarray) -> None:
    for seed in SEEDS:
        assert (apply("stain", page, seed) <= page + 1e-6).all()


def test_stains_have_a_darker_rim_than_their_middle() -> None:
    white = np.ones((200, 200), np.float32)
    rims = 0
    for seed in range(20):
        stained = apply("stain", white, seed)
        dark = stained < 0.97
        if dark.sum() < 50:
            continue
        inner = cv2.erode(dark.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        border = dark & ~inner
        rims += bool(inner.any() and stained[border].mean() < stained[inner].mean())
    assert rims >= 10


def test_noise_raises_the_variance_of_the_paper(page: np.ndarray) -> None:
    paper = page == 1.0
    gray = page * np.float32(0.8)  # room above and below for the noise
    for seed in SEEDS:
        assert apply("noise", gray, seed)[paper].std() > 0.005


def test_salt_and_pepper_flips_pixels() -> None:
    page = np.ones((96, 128), np.float32)
    page[40:56, 30:100] = 0.0  # a bar of ink on open paper
    for seed in SEEDS:
        out = apply("salt-pepper", page, seed)
        assert (out[page == 1.0] == 0.0).any() and (out[page == 0.0] == 1.0).any()


def test_blur_lowers_high_frequency_energy(page: np.ndarray) -> None:
    def energy(img: np.ndarray) -> float:
        return float(cv2.Laplacian(img, cv2.CV_32F).var())

    for seed in SEEDS:
        assert energy(apply("blur", page, seed)) < 0.7 * energy(page)


def test_jpeg_leaves_8_bit_values(page: np.ndarray) -> None:
    out = apply("jpeg", page, 0)
    assert np.allclose(out * 255, np.round(out * 255), atol=1e-3)


def test_faded_ink_lightens_text_and_keeps_the_paper(page: np.ndarray) -> None:
    text = page < 0.5
    for seed in SEEDS:
        faded = apply("faded-ink", page, seed)
        assert faded[text].mean() > page[text].mean() + 0.05
        assert faded[page == 1.0].min() > 0.99


def test_rotation_fills_with_white() -> None:
    black = np.zeros((96, 128), np.float32)
    for seed in SEEDS:
        rotated = apply("rotation", black, seed)
        assert rotated.max() > 0.0 and rotated[48, 64] == 0.0
        if abs(np.random.default_rng(seed).uniform(-2, 2)) > 0.5:  # the angle drawn
            assert max(rotated[0, 0], rotated[0, -1]) > 0.5


def test_rotation_moves_the_clean_target_the_same_way(page: np.ndarray) -> None:
    for seed in SEEDS:
        noisy, clean = synth.make_pair(page, np.random.default_rng(seed), ["rotation"], mix=False)
        assert np.array_equal(noisy, clean) and not np.array_equal(clean, page)
        noisy, clean = synth.make_pair(
            page, np.random.default_rng(seed), ["rotation", "salt-pepper"], mix=False
        )
        assert not np.array_equal(clean, page)
        assert (noisy == clean).mean() > 0.97  # aligned: only the flipped pixels differ


def test_the_clean_target_stays_clean(page: np.ndarray) -> None:
    kinds = [k for k in synth.DEGRADATIONS if k not in synth.GEOMETRIC]
    noisy, clean = synth.make_pair(page, np.random.default_rng(3), kinds, mix=False)
    assert np.array_equal(clean, page) and not np.array_equal(noisy, page)


def test_same_seed_same_pair_other_seed_other_pair(page: np.ndarray) -> None:
    def pair(seed: int) -> tuple[np.ndarray, np.ndarray]:
        return synth.make_pair(page, np.random.default_rng(seed), mix=False)

    a, b, c = pair(5), pair(5), pair(6)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[0].dtype == np.float32 and a[1].dtype == np.float32


def test_a_mixed_page_always_gets_a_real_degradation() -> None:
    for seed in range(200):
        chosen = synth.choose_kinds(np.random.default_rng(seed), list(synth.DEGRADATIONS))
        assert set(chosen) - synth.GEOMETRIC


def test_kinds_resolve_in_registry_order_and_unknown_ones_are_named() -> None:
    assert synth.resolve_kinds(["jpeg", "stain"]) == ["stain", "jpeg"]
    assert "fold" not in synth.resolve_kinds(None, ["fold"])
    with pytest.raises(UsageError, match="nope") as caught:
        synth.resolve_kinds(["stain", "nope"])
    assert "wrinkles" in str(caught.value)
    with pytest.raises(UsageError, match="no degradation"):
        synth.resolve_kinds(["fold"], ["fold"])


def test_excluded_kinds_are_never_called(page: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise AssertionError("an excluded kind was applied")

    monkeypatch.setitem(synth.DEGRADATIONS, "fold", forbidden)
    kinds = synth.resolve_kinds(None, ["fold"])
    for seed in SEEDS:
        synth.make_pair(page, np.random.default_rng(seed), kinds, mix=False)
    with pytest.raises(AssertionError):  # the patch does bite when fold is allowed
        synth.make_pair(page, np.random.default_rng(0), ["fold"], mix=False)


def test_render_page_draws_text_deterministically() -> None:
    a = synth.render_page(np.random.default_rng(1), (96, 128))
    b = synth.render_page(np.random.default_rng(1), (96, 128))
    assert a.shape == (96, 128) and a.dtype == np.float32
    assert np.array_equal(a, b) and (a < 0.5).mean() > 0.01 and (a > 0.9).mean() > 0.5


def test_render_page_falls_back_to_pillows_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "find_fonts", list)
    for seed in range(3):
        rendered = synth.render_page(np.random.default_rng(seed), (200, 160))
        assert (rendered < 0.5).mean() > 0.01


def test_synthetic_pairs_in_memory(page: np.ndarray) -> None:
    pairs = synth.synthetic_pairs(3, np.random.default_rng(0), [page], ["stain", "noise"])
    assert [p.name for p in pairs] == ["synthetic-00000", "synthetic-00001", "synthetic-00002"]
    assert all(isinstance(p, Pair) and p.noisy.shape == p.clean.shape == page.shape for p in pairs)
    assert all(p.noisy.dtype == p.clean.dtype == np.float32 for p in pairs)
    rendered = synth.synthetic_pairs(2, np.random.default_rng(0), size=(64, 48))
    again = synth.synthetic_pairs(2, np.random.default_rng(0), size=(64, 48))
    assert rendered[0].clean.shape == (64, 48)
    assert all(np.array_equal(x.noisy, y.noisy) for x, y in zip(rendered, again, strict=True))


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def clean_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(4)
    root = tmp_path / "clean-pages"
    write_gray(root / "a.png", clean_page(96, 128, rng))
    write_gray(root / "sub" / "b.png", clean_page(80, 100, rng))
    return root


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_synth_writes_matching_pairs(clean_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    kinds = "stain,fold,noise,blur"  # no rotation: the clean copy is the page itself
    result = runner.invoke(
        app, ["synth", str(clean_dir), "-o", str(out), "--per-page", "2", "--kinds", kinds]
    )
    assert result.exit_code == ExitCode.OK, result.output
    names = ["a-0.png", "a-1.png", "sub/b-0.png", "sub/b-1.png"]
    assert files(out / "noisy") == files(out / "clean") == names
    for name in names:
        noisy, clean = read_image(out / "noisy" / name), read_image(out / "clean" / name)
        source = read_image(clean_dir / (name.rsplit("-", 1)[0] + ".png"))
        assert noisy.pixels.shape == clean.pixels.shape == source.pixels.shape
        assert np.array_equal(clean.pixels, source.pixels)
        assert not np.array_equal(noisy.pixels, clean.pixels)
    assert "wrote 4 pair(s) from 2 page(s)" in result.stderr


def test_synth_is_byte_identical_for_a_seed(clean_dir: Path, tmp_path: Path) -> None:
    def make(name: str, seed: str) -> dict[str, bytes]:
        out = tmp_path / name
        args = ["synth", str(clean_dir), "-o", str(out), "--seed", seed, "--render", "1"]
        assert runner.invoke(app, [*args, "--size", "128x96"]).exit_code == ExitCode.OK
        return {f: (out / f).read_bytes() for f in files(out)}

    first, second, other = make("one", "3"), make("two", "3"), make("three", "4")
    assert first == second
    assert first.keys() == other.keys() and first != other


def test_synth_renders_pages_with_the_fallback_font(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render, "find_fonts", list)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["synth", "-o", str(out), "--render", "2", "--size", "128x96", "--seed", "1"]
    )
    assert result.exit_code == ExitCode.OK, result.output
    assert files(out / "clean") == ["rendered-0000-0.png", "rendered-0001-0.png"]
    page = read_image(out / "clean" / "rendered-0000-0.png")
    assert page.pixels.shape == (96, 128) and (page.pixels < 0.5).any()
    assert page.dpi == (150.0, 150.0)


def test_synth_exclude_kinds_excludes(
    clean_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise AssertionError("excluded")

    monkeypatch.setitem(synth.DEGRADATIONS, "wrinkles", forbidden)
    args = ["synth", str(clean_dir), "-o", str(tmp_path / "out"), "--no-mix"]
    result = runner.invoke(app, [*args, "--exclude-kinds", "wrinkles", "--per-page", "3"])
    assert result.exit_code == ExitCode.OK, result.output
    assert "wrinkles" not in result.stderr.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--render", "1", "--kinds", "stain,smudge"], "known: faded-ink, bleed-through, stain"),
        (["--render", "1", "--exclude-kinds", "creases"], "unknown degradation kind(s): creases"),
        (["--render", "1", "--size", "big"], "WxH"),
        (["--render", "1", "--dpi", "9000"], "--dpi '9000' is out of range"),
        ([], "nothing to make"),
    ],
)
def test_synth_usage_errors_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["synth", "-o", str(tmp_path / "o"), *args])
    assert result.exit_code == ExitCode.USAGE
    assert needle in result.stderr
    assert not (tmp_path / "o").exists()


def test_synth_refuses_a_full_output_folder_and_reports_bad_files(
    clean_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert runner.invoke(app, ["synth", str(clean_dir), "-o", str(out)]).exit_code == 0
    again = runner.invoke(app, ["synth", str(clean_dir), "-o", str(out)])
    assert again.exit_code == ExitCode.OUTPUT and "--overwrite" in again.stderr
    (clean_dir / "broken.png").write_bytes(b"not a png")
    result = runner.invoke(app, ["synth", str(clean_dir), "-o", str(out), "--overwrite"])
    assert result.exit_code == ExitCode.INPUT_FAILED
    assert "broken.png" in result.stderr
    assert files(out / "noisy") == files(out / "clean") == ["a-0.png", "sub/b-0.png"]


def test_synth_renders_crops_of_pages_at_a_resolution(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["synth", "-o", str(out), "--render", "3", "--size", "160x128", "--dpi", "150,600"]
    result = runner.invoke(app, [*args, "--kinds", "hard-shadow"])
    assert result.exit_code == ExitCode.OK, result.output
    dpis = set()
    for name in files(out / "clean"):
        clean, noisy = read_image(out / "clean" / name), read_image(out / "noisy" / name)
        assert clean.pixels.shape == (128, 160) and clean.dpi is not None
        assert (noisy.pixels <= clean.pixels + 1 / 255).all()  # a shadow only darkens
        dpis.add(clean.dpi[0])
    assert dpis <= {150.0, 600.0}


def test_synth_historical_writes_bilevel_targets(clean_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["synth", str(clean_dir), "-o", str(out), "--render", "1", "--size", "192x128"]
    result = runner.invoke(app, [*args, "--historical", "--exclude-kinds", "rotation"])
    assert result.exit_code == ExitCode.OK, result.output
    assert len(files(out / "clean")) == 3
    for name in files(out / "clean"):
        clean, noisy = read_image(out / "clean" / name), read_image(out / "noisy" / name)
        assert set(np.unique(clean.pixels).tolist()) <= {0.0, 1.0}
        assert np.median(noisy.pixels[clean.pixels == 1]) < 0.95  # aged paper under the page


def test_synth_lists_the_new_kinds() -> None:
    result = runner.invoke(app, ["synth", "--list-kinds"])
    assert result.exit_code == ExitCode.OK
    names = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert names == list(synth.DEGRADATIONS)
    assert {"hard-shadow", "undamaged", "aged-paper", "heavy-salt-pepper"} <= set(names)


@pytest.mark.slow
def test_train_accepts_the_generated_folder(clean_dir: Path, tmp_path: Path) -> None:
    from docclean.progress import Reporter
    from docclean.training.trainer import TrainConfig, train

    out = tmp_path / "synthetic"
    args = ["synth", str(clean_dir), "-o", str(out), "--per-page", "2", "--render", "1"]
    assert runner.invoke(app, [*args, "--size", "128x96"]).exit_code == ExitCode.OK
    config = TrainConfig(
        output=tmp_path / "model",
        arch="seed-text",
        epochs=1,
        steps_per_epoch=3,
        patch_size=16,
        batch_size=4,
    )
    card = train(out / "noisy", out / "clean", config, Reporter(quiet=True))
    pages = card["training"]["train_pages"] + card["training"]["validation_pages"]
    assert len(pages) == 6 and (tmp_path / "model.keras").exists()


def test_never_seen_kinds_reads_old_and_new_cards() -> None:
    from docclean.synth.generator import DEGRADATIONS, never_seen_kinds

    assert never_seen_kinds({"synthetic_pairs": 0}) == list(DEGRADATIONS)  # trained on real pairs
    old = {"synthetic_pairs": 30, "synthetic_excluded_kinds": ["jpeg", "blur"]}
    assert never_seen_kinds(old) == ["blur", "jpeg"]
    assert never_seen_kinds({"never_seen_kinds": ["stain"], "synthetic_pairs": 0}) == ["stain"]
    # a run started from a model: what neither saw
    assert never_seen_kinds({"synthetic_pairs": 0}, old) == ["blur", "jpeg"]
    assert never_seen_kinds({"synthetic_pairs": 5, "synthetic_excluded_kinds": ["jpeg"]}, old) == [
        "jpeg"
    ]


# --- kinds for real pages -------------------------------------------------------------------


def _white(shape: tuple[int, int] = (384, 512)) -> np.ndarray:
    return np.ones(shape, np.float32)


def test_hard_shadow_darkens_its_region_30_to_70_percent_and_leaves_the_far_side() -> None:
    far_seen = 0
    for seed in range(40):
        dark = 1.0 - apply("hard-shadow", _white(), seed)
        depth = float(dark.max())
        assert 0.3 <= depth <= 0.7, (seed, depth)
        assert (dark > 0.85 * depth).mean() > 0.01  # a region, not a speck
        # beyond the widest penumbra (60 px) the page is untouched to within 2 %
        touched = (dark > 0.1).astype(np.uint8)
        distance = cv2.distanceTransform(1 - touched, cv2.DIST_L2, 5)
        far = distance > 100
        assert dark[far].max(initial=0.0) < 0.02, seed
        far_seen += far.mean() > 0.1
    assert far_seen >= 30  # the shadow comes in from an edge and leaves most pages' far side lit


def test_hard_shadow_has_a_soft_penumbra_of_10_to_60_px() -> None:
    for seed in range(6):
        dark = 1.0 - apply("hard-shadow", _white(), seed)
        depth = float(dark.max())
        between = ((dark > 0.1 * depth) & (dark < 0.9 * depth)).astype(np.uint8)
        edge = cv2.morphologyEx((dark > 0.5 * depth).astype(np.uint8), cv2.MORPH_GRADIENT, None)
        # the 10-90 % band is about as wide as the penumbra drawn: its area over the edge's length
        width = between.sum() / max(edge.sum() / 2, 1)
        assert 5 <= width <= 75, (seed, width)


def test_curl_shadow_darkens_one_edge_and_leaves_the_far_quarter() -> None:
    for seed in range(8):
        dark = 1.0 - apply("curl-shadow", _white(), seed)
        sides = {
            "top": dark[:4].mean(),
            "bottom": dark[-4:].mean(),
            "left": dark[:, :4].mean(),
            "right": dark[:, -4:].mean(),
        }
        edge = max(sides, key=lambda k: sides[k])
        assert sides[edge] > 0.3
        h, w = dark.shape
        far = {"top": dark[-h // 4 :], "bottom": dark[: h // 4], "left": dark[:, -w // 4 :]}
        assert far.get(edge, dark[:, : w // 4]).max() < 0.02, seed


def test_phone_photo_has_uneven_light_and_a_shadow(page: np.ndarray) -> None:
    for seed in range(6):
        lit = apply("phone-photo", _white(), seed)
        assert lit.max() < 1.0  # the lamp never reaches a scanner's white
        assert np.percentile(lit, 2) < 0.7 * np.percentile(lit, 98), seed


def test_heavy_salt_and_pepper_covers_half_a_percent_to_four_percent_in_small_specks() -> None:
    gray = np.full((256, 256), 0.5, np.float32)
    densities = []
    for seed in range(10):
        changed = (apply("heavy-salt-pepper", gray, seed) != gray).astype(np.uint8)
        density = float(changed.mean())
        assert 0.004 <= density <= 0.041, (seed, density)
        densities.append(density)
        stats = cv2.connectedComponentsWithStats(changed, connectivity=4)[2]
        areas = stats[1:, cv2.CC_STAT_AREA]
        assert np.median(areas) <= 9 and {1, 4, 9} <= set(areas.tolist())
    assert max(densities) > 0.02 and min(densities) < 0.02


def test_sensor_noise_is_stronger_on_light_paper_than_on_ink() -> None:
    page = np.full((128, 256), 0.9, np.float32)
    page[:, 128:] = 0.1
    for seed in SEEDS:
        noisy = apply("sensor-noise", page, seed)
        light, dark = noisy[:, :128] - 0.9, noisy[:, 128:] - 0.1
        assert light.std() > 1.3 * dark.std() > 0.002, seed
        assert abs(light.mean()) < 0.01 and abs(dark.mean()) < 0.01


@pytest.mark.parametrize("name", ["salt-pepper", "heavy-salt-pepper"])
def test_dark_specks_stand_clear_of_ink_so_dots_beside_letters_are_never_noise(name: str) -> None:
    """A full stop or an ellipsis is a dark dot beside ink: the specks a model learns to remove
    never are, while there are still many of them on the paper."""
    page = render.render_page(np.random.default_rng(0), (384, 384), 150.0)
    ink = page < 0.5
    near = cv2.dilate(ink.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    for seed in range(4):
        added = (apply(name, page, seed) < 0.5) & ~ink
        assert added.sum() > 20, seed
        assert not (added & near).any(), seed


def test_light_scan_is_mild_and_keeps_every_stroke(page: np.ndarray) -> None:
    paper = page == 1.0
    text = cv2.erode((page < 0.5).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    for seed in SEEDS:
        scan = apply("light-scan", page, seed)
        assert 0.78 < float(np.median(scan[paper])) < 0.99
        assert (scan[text] < 0.5).all()
        assert np.abs(scan - page).mean() < 0.2
        assert np.corrcoef(scan.ravel(), page.ravel())[0, 1] > 0.9  # the page shows through


def test_undamaged_pairs_are_identical_and_drawn_alone(page: np.ndarray) -> None:
    noisy, clean = synth.make_pair(page, np.random.default_rng(0), ["undamaged"])
    assert np.array_equal(noisy, page) and np.array_equal(clean, page)
    draws = [
        synth.choose_kinds(np.random.default_rng(s), synth.resolve_kinds()) for s in range(400)
    ]
    alone = [d for d in draws if set(d) & set(synth.ALONE)]
    assert all(len(d) == 1 for d in alone)
    assert 0.1 < len(alone) / len(draws) < 0.3  # 8 % undamaged + 10 % light scans
    same = sum(
        np.array_equal(*synth.make_pair(page, np.random.default_rng(s), mix=True))
        for s in range(60)
    )
    assert 1 <= same <= 15


def test_chances_replace_a_kinds_usual_chance() -> None:
    assert synth.parse_chances("jpeg=0.6, heavy-salt-pepper=1") == {
        "jpeg": 0.6,
        "heavy-salt-pepper": 1.0,
    }
    assert synth.parse_chances(None) == {}
    for bad in ("jpeg", "jpeg=x", "jpeg=1.5", "jpeg=-0.1"):
        with pytest.raises(UsageError, match="bad synthetic chance"):
            synth.parse_chances(bad)
    with pytest.raises(UsageError, match="unknown degradation"):
        synth.parse_chances("smudge=0.5")
    kinds = [k for k in synth.resolve_kinds() if k not in synth.ALONE]
    chances = {"jpeg": 1.0, "blur": 0.0}
    draws = [synth.choose_kinds(np.random.default_rng(s), kinds, True, chances) for s in range(200)]
    assert all("jpeg" in d and "blur" not in d for d in draws)
    usual = [synth.choose_kinds(np.random.default_rng(s), kinds) for s in range(200)]
    assert 0.15 < np.mean(["jpeg" in d for d in usual]) < 0.45  # CHANCE 0.3
    historical = synth.historical_pair
    page = np.ones((64, 64), np.float32)
    page[20:40, 20:24] = 0.0
    rng = np.random.default_rng(0)
    noisy, _ = historical(page, rng, ["aged-paper", "heavy-salt-pepper"], {"heavy-salt-pepper": 1})
    plain, _ = historical(page, np.random.default_rng(0), ["aged-paper", "heavy-salt-pepper"])
    assert not np.array_equal(noisy, plain)  # a kind a historical page never gets, given a chance


def test_old_kind_lists_draw_as_before(page: np.ndarray) -> None:
    """The new kinds take no random draws from a page whose kinds are only old ones."""
    old = list(synth.DEGRADATIONS)[:12]
    for seed in range(20):
        rng = np.random.default_rng(seed)
        draws = {k: rng.random() < synth.CHANCE[k] for k in old}
        chosen = synth.choose_kinds(np.random.default_rng(seed), old)
        if any(draws[k] for k in old if k not in synth.GEOMETRIC):
            assert chosen == [k for k in old if draws[k]]


def test_aged_paper_is_toned_textured_and_keeps_the_ink_darker(page: np.ndarray) -> None:
    text, paper = page < 0.5, page == 1.0
    for seed in SEEDS:
        aged = apply("aged-paper", page, seed)
        assert 0.4 < float(np.median(aged[paper])) < 0.93
        assert aged[paper].std() > 0.003
        assert aged[text].mean() < 0.6 * aged[paper].mean()


def test_iron_gall_ink_fades_the_ink_unevenly_and_leaves_the_paper() -> None:
    page = render.render_page(np.random.default_rng(2), (256, 384), dpi=150)
    ink, paper = page < 0.2, page == 1.0
    far = cv2.erode(paper.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    for seed in SEEDS:
        inked = apply("iron-gall-ink", page, seed)
        assert 0.1 <= float(np.median(inked[ink])) <= 0.9
        assert inked[ink].std() > 0.01  # darker and paler from word to word
        assert inked[far].min() > 0.99


def test_verso_bleed_shows_writing_through_the_paper() -> None:
    page = render.render_page(np.random.default_rng(4), (256, 256), dpi=150)
    paper = page == 1.0
    for seed in SEEDS:
        bled = apply("verso-bleed", page, seed)
        assert bled[paper].min() < 0.93 and (bled <= page + 1e-6).all()
        assert 0.1 < (bled[paper] < 0.97).mean() < 0.5  # strokes, not a veil


def test_historical_pairs_have_bilevel_targets_under_aged_pages() -> None:
    pairs = synth.synthetic_pairs(3, np.random.default_rng(0), size=(192, 256), historical=True)
    again = synth.synthetic_pairs(3, np.random.default_rng(0), size=(192, 256), historical=True)
    for pair, twin in zip(pairs, again, strict=True):
        assert np.array_equal(pair.noisy, twin.noisy) and np.array_equal(pair.clean, twin.clean)
        assert set(np.unique(pair.clean).tolist()) <= {0.0, 1.0} and (pair.clean == 0).any()
        text, paper = pair.clean == 0, pair.clean == 1
        assert np.median(pair.noisy[paper]) < 0.95  # aged paper
        assert pair.noisy[text].mean() < pair.noisy[paper].mean()
    _, clean = synth.historical_pair(clean_page(96, 128, np.random.default_rng(1)),
                                         np.random.default_rng(1), ["rotation", "aged-paper"])  # fmt: skip
    assert set(np.unique(clean).tolist()) <= {0.0, 1.0}


def test_historical_good_share_gives_good_scans_with_their_strokes_as_target() -> None:
    """A binarizer's good pages: a clean page (or a light scan of it) on white-ish paper, its
    target that page thresholded, so that strokes keep their width; the others are aged."""
    pairs = synth.synthetic_pairs(
        24, np.random.default_rng(6), size=(128, 160), historical=True, good_share=0.5
    )
    good = 0
    for pair in pairs:
        assert set(np.unique(pair.clean).tolist()) <= {0.0, 1.0}
        paper = pair.clean == 1
        if np.median(pair.noisy[paper]) >= 0.97:  # undamaged: the rendered page itself
            good += 1
            assert np.array_equal(pair.clean, np.where(pair.noisy < 0.5, 0.0, 1.0))
    assert 3 <= good <= 12  # about half of the good half
    aged = synth.synthetic_pairs(
        24, np.random.default_rng(6), size=(128, 160), historical=True, good_share=0.0
    )
    assert all(np.median(p.noisy[p.clean == 1]) < 0.97 for p in aged)


# --- rendering at a real resolution ---------------------------------------------------------


def _runs(mask: np.ndarray) -> np.ndarray:
    """Lengths of the horizontal runs of True in ``mask``."""
    padded = np.pad(mask.astype(np.int8), ((0, 0), (1, 1)))
    steps = np.diff(padded, axis=1)
    return np.flatnonzero(steps.ravel() == -1) - np.flatnonzero(steps.ravel() == 1)


def test_a_48_pt_bold_heading_at_300_dpi_has_its_real_stroke_width(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PIL import Image, ImageDraw, ImageFont

    sans = [f for f in render.font_families() if f.bold is not None and f.name == "DejaVuSans"]
    if not sans:
        pytest.skip("DejaVu Sans Bold is not installed")
    bold = sans[0].bold
    # the font's own stem: the 'l' at 1000 px
    glyph = Image.new("L", (600, 1300), 255)
    ImageDraw.Draw(glyph).text((100, 0), "l", font=ImageFont.truetype(str(bold), 1000), fill=0)
    ink = np.asarray(glyph) < 128
    rows = np.flatnonzero(ink.any(axis=1))
    stem = ink[(rows[0] + rows[-1]) // 2].sum() / 1000
    expected = 48 * 300 / 72 * stem  # 200 px em: about 35 px

    monkeypatch.setattr(render, "find_fonts", lambda: [sans[0].regular, bold])
    monkeypatch.setattr(render, "HEADING_PT", (48.0, 48.0))
    for seed in range(40):
        page, marks = render.render_with_layout(np.random.default_rng(seed), (768, 1024), 300)
        headings = [m for m in marks if m.kind == "heading" and m.box[3] - m.box[1] > 150]
        if headings:
            break
    else:
        pytest.fail("no heading drawn in 40 pages")
    top, left, bottom, right = headings[0].box
    assert headings[0].pt == 48.0 and headings[0].font == bold
    runs = _runs(page[top:bottom, left:right] < 0.5)
    values, counts = np.unique(runs[runs > 2], return_counts=True)
    measured = values[counts.argmax()]  # most runs cross a vertical stem
    assert abs(measured - expected) <= 0.2 * expected, (measured, expected)


def test_type_sizes_are_points_at_the_pages_resolution() -> None:
    sizes: dict[str, list[float]] = {}
    for dpi in (150, 300, 600):
        for seed in range(6):
            _, marks = render.render_with_layout(np.random.default_rng(seed), (512, 512), dpi)
            for mark in marks:
                sizes.setdefault(mark.kind, []).append(mark.pt)
                height = mark.box[2] - mark.box[0]
                if mark.box[0] > 0 and mark.box[2] < 512:  # whole, not cut by the window
                    assert height <= 1.5 * mark.pt * dpi / 72 + 2, mark
    assert min(sizes["heading"]) >= 24 and max(sizes["heading"]) <= 48
    assert min(sizes["body"]) >= 9 and max(sizes["body"]) <= 12
    assert min(sizes["small"]) >= 6 and max(sizes["small"]) <= 7
    assert {"table", "subheading"} <= set(sizes)


def test_display_windows_show_a_bold_heading_at_every_resolution() -> None:
    """Title pages: the window shows the page's heading (24-48 pt bold, 200-400 px tall at 600
    dpi), which a window on an ordinary page at 600 dpi seldom does; their ink covers more."""
    for dpi in (150, 300, 600):
        shown = {False: 0, True: 0}
        for display in (False, True):
            for seed in range(10):
                _, marks = render.render_with_layout(
                    np.random.default_rng(seed), (512, 512), dpi, display=display
                )
                shown[display] += any(m.kind == "heading" for m in marks)
        assert shown[True] >= 8, (dpi, shown)
        if dpi == 600:
            assert shown[False] <= 4, shown


def test_good_pages_at_a_resolution_are_half_of_them_title_pages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a dpi scale, about half the good pages are title windows; damaged pages never are."""
    asked: list[bool] = []

    def recording(
        rng: object,
        size: object,
        dpi: object,
        manuscript: bool,
        display: bool = False,
        tones: bool = False,
        notes: bool = False,
    ) -> np.ndarray:
        asked.append(display)
        return np.ones((64, 64), np.float32)

    monkeypatch.setattr(synth, "render_page", recording)
    scale = render.parse_scale("150-600")
    kinds = ["undamaged", "light-scan", "blur"]
    for share, pages in ((1.0, 40), (0.0, 20)):
        asked.clear()
        synth.synthetic_pairs(
            pages, np.random.default_rng(2), kinds=kinds, size=(64, 64), dpi=scale, good_share=share
        )
        assert len(asked) == pages
        if share:
            assert 10 <= sum(asked) <= 30, asked
        else:
            assert not any(asked)


@settings(max_examples=25, deadline=None)
@given(
    height=st.integers(8, 400),
    width=st.integers(8, 400),
    dpi=st.floats(50, 1200),
    manuscript=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_any_window_at_any_resolution_is_a_page_of_that_size(
    height: int, width: int, dpi: float, manuscript: bool, seed: int
) -> None:
    page, marks = render.render_with_layout(
        np.random.default_rng(seed), (height, width), dpi, manuscript
    )
    assert page.shape == (height, width) and page.dtype == np.float32
    assert page.min() >= 0.0 and page.max() <= 1.0
    for mark in marks:  # every run of text drawn shows inside the window
        top, left, bottom, right = mark.box
        assert 0 <= top < bottom <= height and 0 <= left < right <= width


def test_a_600_dpi_window_is_a_crop_of_a_large_page() -> None:
    page, marks = render.render_with_layout(np.random.default_rng(3), (256, 256), 600)
    assert page.shape == (256, 256) and page.dtype == np.float32
    again = render.render_page(np.random.default_rng(3), (256, 256), 600)
    assert np.array_equal(page, again)
    # 10 pt body at 600 dpi: about 83 px a line; a 256 px window holds at most a few lines
    body = [m for m in marks if m.kind == "body"]
    assert all(m.box[2] - m.box[0] > 30 for m in body if m.box[0] > 0 and m.box[2] < 256)


@pytest.mark.parametrize(
    ("text", "low", "high", "choices"),
    [
        ("300", 300, 300, ()),
        ("150-600", 150, 600, ()),
        ("150,300,600", 150, 600, (150, 300, 600)),
    ],
)
def test_dpi_scales_parse_and_draw_within_them(
    text: str, low: float, high: float, choices: tuple[float, ...]
) -> None:
    scale = render.parse_scale(text)
    assert (scale.low, scale.high, scale.choices) == (low, high, choices)
    draws = [scale.draw(np.random.default_rng(s)) for s in range(200)]
    assert low <= min(draws) and max(draws) <= high
    if choices:
        assert set(draws) == set(choices)
    elif high > low:  # log-uniform: as many draws below the geometric mean as above
        assert 70 < sum(d < (low * high) ** 0.5 for d in draws) < 130


@pytest.mark.parametrize("text", ["abc", "10", "150-5000", "300,", ""])
def test_bad_dpi_scales_are_refused(text: str) -> None:
    with pytest.raises(UsageError, match="--dpi"):
        render.parse_scale(text)


def test_synthetic_pairs_at_many_resolutions() -> None:
    scale = render.parse_scale("150-600")
    pairs = synth.synthetic_pairs(4, np.random.default_rng(0), size=(128, 160), dpi=scale)
    assert all(p.noisy.shape == p.clean.shape == (128, 160) for p in pairs)
    assert all(p.clean.dtype == np.float32 for p in pairs)


def test_good_share_sets_how_many_synthetic_pages_are_good_ones() -> None:
    """good_share: that share of pages is undamaged or a light scan, the rest damage only."""
    rng = np.random.default_rng(5)
    pairs = synth.synthetic_pairs(40, rng, size=(96, 128), good_share=0.5)
    identical = sum(np.array_equal(p.noisy, p.clean) for p in pairs)
    assert 5 <= identical <= 20  # undamaged pages: about half of the good half
    none = synth.synthetic_pairs(10, np.random.default_rng(5), size=(96, 128), good_share=0.0)
    assert not any(np.array_equal(p.noisy, p.clean) for p in none)


def test_noted_pages_have_gray_handwriting_across_the_print_in_the_target_too() -> None:
    """Notes are a manuscript page's script in one gray of NOTE_INK, over a band of the page, only
    darkening it; they stay in a pair's clean target, and no notes means the same pages as before."""
    page, _ = render.render_with_layout(np.random.default_rng(3), (512, 512), 300)
    noted = render.add_notes(page, 300, np.random.default_rng(4))
    assert noted.shape == page.shape and noted.dtype == np.float32
    assert (noted <= page + 1e-6).all()
    added = noted < page - 0.05
    rows = np.flatnonzero(added.any(axis=1))
    low, high = render.NOTE_BAND
    assert rows.size and low * 512 * 0.5 <= rows[-1] - rows[0] + 1 <= high * 512
    on_paper = noted[added & (page == 1.0)]
    assert render.NOTE_INK[0] - 1e-6 <= on_paper.min() <= render.NOTE_INK[1] + 1e-6
    assert (on_paper > 0.2).all()  # gray, not black

    dpi = render.parse_scale("300")
    pairs = synth.synthetic_pairs(4, np.random.default_rng(0), size=(256, 256), dpi=dpi,
                                  kinds=["undamaged"], notes=1.0)  # fmt: skip
    plain = synth.synthetic_pairs(4, np.random.default_rng(0), size=(256, 256), dpi=dpi,
                                  kinds=["undamaged"])  # fmt: skip
    again = synth.synthetic_pairs(4, np.random.default_rng(0), size=(256, 256), dpi=dpi,
                                  kinds=["undamaged"], notes=0.0)  # fmt: skip
    assert all(np.array_equal(p.noisy, p.clean) for p in pairs)
    gray = [np.mean((p.clean > 0.25) & (p.clean < 0.8)) for p in pairs]
    plain_gray = [np.mean((p.clean > 0.25) & (p.clean < 0.8)) for p in plain]
    assert sum(gray) > 1.5 * sum(plain_gray)  # the notes' gray strokes (twice, on these seeds)
    assert all(np.array_equal(a.clean, b.clean) for a, b in zip(plain, again, strict=True))


def test_toned_pages_have_tinted_headings_and_shaded_boxes_in_the_target_too() -> None:
    """Gray that belongs to the page (tinted headings, shaded rows and boxes) is drawn with sharp
    edges, leaves the ink as dark as before, and stays in a pair's clean target."""
    page, marks = render.render_with_layout(np.random.default_rng(3), (512, 512), 300, display=True)
    heads = [m for m in marks if m.kind in ("heading", "subheading")]
    assert heads
    tinted = [render.add_tones(page, marks, np.random.default_rng(seed)) for seed in range(12)]
    in_heads = np.zeros(page.shape, bool)
    for m in heads:
        in_heads[m.box[0] : m.box[2], m.box[1] : m.box[3]] = True
    ink = page < 0.2
    gray_heads = 0
    for toned in tinted:
        assert toned.shape == page.shape and toned.dtype == np.float32
        assert np.all(toned[~in_heads] <= page[~in_heads] + 1e-6)  # elsewhere only darker
        shade = toned[(toned < page - 1e-3) & (page == 1.0)]
        if shade.size:
            low, high = render.SHADE
            assert shade.min() >= low - 1e-6 and shade.max() <= high + 1e-6
        head_ink = toned[in_heads & ink]
        if np.all(head_ink > 0.2):
            gray_heads += 1
            assert head_ink.max() <= render.TINTED_INK[1] + 0.2 + 1e-6
        else:
            assert np.array_equal(head_ink > 0.2, np.zeros_like(head_ink, bool))  # all or none
    assert 2 <= gray_heads <= 11  # headings tinted on some pages, not all
    assert any(np.any((t > 0.7) & (t < 0.96)) for t in tinted)  # shaded boxes drawn

    dpi = render.parse_scale("300")
    pairs = synth.synthetic_pairs(4, np.random.default_rng(0), size=(256, 256), dpi=dpi,
                                  kinds=["undamaged"], tones=1.0)  # fmt: skip
    assert all(np.array_equal(p.noisy, p.clean) for p in pairs)
    assert any(np.mean((p.clean > 0.7) & (p.clean < 0.96)) > 0.01 for p in pairs)
    plain = synth.synthetic_pairs(4, np.random.default_rng(0), size=(256, 256), dpi=dpi,
                                  kinds=["undamaged"])  # fmt: skip
    again = synth.synthetic_pairs(4, np.random.default_rng(0), size=(256, 256), dpi=dpi,
                                  kinds=["undamaged"], tones=0.0)  # fmt: skip
    assert all(np.array_equal(a.clean, b.clean) for a, b in zip(plain, again, strict=True))
