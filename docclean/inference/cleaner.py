"""Run a loaded model over pages: fixed-shape batches through one traced graph, then stitching."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from docclean.backend import Device, tensorflow
from docclean.inference.faint import stretch_faint
from docclean.inference.graph import inference_model
from docclean.inference.levels import normalize_levels
from docclean.inference.marks import glyph_height, mend_marks
from docclean.inference.pictures import keep_pictures
from docclean.inference.prepare import prepare_page
from docclean.inference.rules import keep_rules
from docclean.inference.tiling import TileConfig, default_margin, run_tiled
from docclean.inference.tints import keep_tints
from docclean.inference.two_tone import model_level, two_tone_ink, two_tone_output
from docclean.models.architectures import ARCHITECTURES
from docclean.models.store import LoadedModel

DEFAULT_TILE_SIZE = 256
DEFAULT_BATCH_SIZE = 8
SMALL_TILE = 512
"""Second tile side for pages that the model's own tile would mostly pad (fixed, traced once)."""
PAGE_CORE = (1754, 2550)
"""(height, width) that the core of the page-shaped tile covers at least: half a portrait A4 page
at 300 dpi (3508 x 2480 px) and a whole US Letter page's width (2550 px), so that such a page
takes two tiles (10.7 Mpx for fast-unet against 13.0 in six squares); turned, for landscape
pages."""
BINARIZE_THRESHOLD = 0.5
"""``--binarize``: output values at or above this are white (background), below it black (text)."""


class PageCleaner:
    """Cleans whole pages with one model through graphs traced once per tile shape, run on the
    model's inference copy (:func:`~docclean.inference.graph.inference_model`: same weights and
    outputs, faster layers).

    Tile and batch size default to the architecture's (see :mod:`docclean.models.architectures`);
    for an architecture with large tiles, a page that a :data:`SMALL_TILE` layout (a small scan,
    say) or a page-shaped layout (:data:`PAGE_CORE`: an A4 or Letter page at 300 dpi, portrait or
    landscape) covers with less work uses that shape instead, each fixed and traced once, on first
    use. An explicit ``tile_size`` is the only shape used. With ``binarize`` the cleaned page is
    thresholded into a bool page (True = white). A binarization model (bilevel card) gets faint
    pages with their contrast raised first (:mod:`docclean.inference.faint`) and two-tone pages
    their strokes as the page draws them (:mod:`docclean.inference.two_tone`); a ``paper-ink``
    model gets every page at full contrast (:mod:`docclean.inference.levels`), a speckled page with
    its salt-and-pepper's impulses cleared first (:mod:`docclean.inference.impulses`), a blurred
    one sharpened (:mod:`docclean.inference.sharpen`), a shadowed one divided by its paper
    (:mod:`docclean.inference.shadows`), and after it what it took of a heading in
    a colour or gray tint and of shaded boxes back
    (:mod:`docclean.inference.tints`), the thin rules it broke whole
    (:mod:`docclean.inference.rules`), then on a clean page the small marks it erased back and on
    a speckled page the lone specks and pinholes it left cleared (:mod:`docclean.inference.marks`),
    and last the photographs and gray figures printed on the page as the page has them
    (:mod:`docclean.inference.pictures`).
    """

    def __init__(
        self,
        loaded: LoadedModel,
        tile_size: int | None = None,
        batch_size: int | None = None,
        margin: int | None = None,
        device: Device = "auto",
        binarize: bool = False,
        mixed_precision: bool = False,
    ) -> None:
        self._tf = tensorflow(device)
        self.loaded = loaded
        self.binarize = binarize
        self._model = loaded.model
        self._level = model_level(loaded.model)
        self.precision = "float32"
        self.precision_note: str | None = None
        if mixed_precision:
            self._use_mixed_precision()
        self._model = inference_model(self._model)
        arch = ARCHITECTURES.get(loaded.card.architecture)
        chosen = tile_size
        if tile_size is None:
            tile_size = arch.tile_size if arch else DEFAULT_TILE_SIZE
        if batch_size is None:
            batch_size = arch.batch_size if arch else DEFAULT_BATCH_SIZE
        if margin is None:
            margin = default_margin(loaded.receptive_radius, loaded.stride)
        self.config = TileConfig(tile_size=tile_size, margin=margin, batch_size=batch_size)
        self.config.validate(loaded.receptive_radius, loaded.stride)
        self.configs = [self.config]
        if chosen is None and tile_size > SMALL_TILE:
            self.configs += _other_layouts(margin, loaded.stride)
            for config in self.configs[1:]:
                config.validate(loaded.receptive_radius, loaded.stride)
        self.traces = 0
        self._forwards: dict[tuple[int, int], Any] = {}
        # Held while a batch is in the model: pages cleaned on several threads take turns there
        # (alone it keeps every core busy, and two batches at once would hold two pages' layers)
        # while their steps around it run side by side; and a shape is traced once.
        self._in_model = threading.Lock()

    def _forward(self, config: TileConfig) -> Any:
        """The traced model call for ``config``'s batch shape (traced on first use; called
        holding ``_in_model``)."""
        tf, model = self._tf, self._model
        key = config.shape
        if key not in self._forwards:
            spec = tf.TensorSpec((config.batch_size, *config.shape, 1), tf.float32)

            def forward(batch: Any) -> Any:
                self.traces += 1  # runs only while tracing
                return model(batch, training=False)

            self._forwards[key] = tf.function(forward, input_signature=[spec])
        return self._forwards[key]

    def _use_mixed_precision(self) -> None:
        """Run the model in mixed precision if that keeps its pages within one gray level
        (checked on probe tiles); otherwise stay in float32 and say why in ``precision_note``."""
        from docclean.inference.precision import (
            MAX_ERROR,
            mixed_precision_error,
            mixed_precision_model,
        )

        mixed = mixed_precision_model(self.loaded.model)
        error = mixed_precision_error(self.loaded.model, mixed)
        if error <= MAX_ERROR:
            self._model, self.precision = mixed, "mixed_float16"
        else:
            self.precision_note = (
                f"mixed precision would change {self.loaded.name}'s pages by up to "
                f"{error * 255:.1f}/255 (more than 1/255): it runs in float32"
            )

    def config_for(self, height: int, width: int) -> TileConfig:
        """The tile layout that does the least work for a page of this size."""

        def work(config: TileConfig) -> int:
            core_height, core_width = config.core_shape
            tiles = -(-height // core_height) * -(-width // core_width)
            batches = -(-tiles // config.batch_size)
            return batches * config.batch_size * config.shape[0] * config.shape[1]

        return min(self.configs, key=work)

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """Clean a ``(B, H, W)`` float32 batch of tiles of one of this cleaner's shapes."""
        config = next(c for c in self.configs if c.shape == batch.shape[1:])
        with self._in_model:
            result = np.asarray(self._forward(config)(batch[..., np.newaxis]))
        return result[..., 0]

    def clean(self, page: np.ndarray) -> np.ndarray:
        """Clean one float32 grayscale page of any size: float32 in [0, 1], or bool if binarizing."""
        page = np.asarray(page)
        if self.loaded.card.is_bilevel and page.ndim == 2:
            page = stretch_faint(page)
        levelled = self.loaded.card.input_levels == "paper-ink" and page.ndim == 2
        config = self.config_for(*page.shape) if page.ndim == 2 else self.config
        if levelled and not self.loaded.card.is_bilevel:
            prepared = prepare_page(page)
            page = prepared.page
            before_division = prepared.undivided if prepared.shadow_box is not None else None
            cleaned = keep_tints(page, run_tiled(page, self.predict_batch, config), before_division)
            if prepared.shadow_box is not None:  # tints it whitened, as the page has them if darker
                top, left, bottom, right = prepared.shadow_box
                box = (slice(top, bottom), slice(left, right))
                as_is = prepared.repaired(prepared.undivided)
                np.minimum(cleaned[box], keep_tints(as_is[box], cleaned[box]), out=cleaned[box])
            letter_height = glyph_height(prepared.census.stats)
            cleaned = keep_rules(page, cleaned, letter_height)
            cleaned = mend_marks(page, cleaned, prepared.census)
            cleaned = keep_pictures(prepared.undivided, cleaned, prepared.census)
        else:
            if levelled:
                page = normalize_levels(page)
            cleaned = run_tiled(page, self.predict_batch, config)
        if not (self.loaded.card.is_bilevel and page.ndim == 2):
            return cleaned >= BINARIZE_THRESHOLD if self.binarize else cleaned
        if self.binarize:  # the mask alone: no gray page to recentre
            return ~two_tone_ink(cleaned, page, self._level)
        return two_tone_output(cleaned, page, self._level)


def _other_layouts(margin: int, stride: int) -> list[TileConfig]:
    """The layouts besides an architecture's large square tiles, one tile a call: the
    :data:`SMALL_TILE` square (if its core is not mostly margin) and the page-shaped tiles whose
    cores cover :data:`PAGE_CORE` (on the stride grid), upright and turned."""
    page_height, page_width = (-(-side // stride) * stride + 2 * margin for side in PAGE_CORE)
    layouts = [
        TileConfig(page_height, margin, batch_size=1, tile_width=page_width),
        TileConfig(page_width, margin, batch_size=1, tile_width=page_height),
    ]
    small = TileConfig(tile_size=SMALL_TILE, margin=margin, batch_size=1)
    if min(small.core_shape) >= 2 * margin:
        layouts.insert(0, small)
    return layouts
