"""The shipped office model on synthetic pages: a kind of page it never saw in training.

It was trained on NoisyOffice scans only, never on `docclean synth` pages, so every synthetic kind
is left out of its training. On the kinds that change a page a lot it must beat both leaving the
page alone and Sauvola thresholding (`bench/generalization.py` prints every kind).
"""

from __future__ import annotations

import numpy as np
import pytest

from docclean.baselines import sauvola
from docclean.inference import PageCleaner
from docclean.metrics import rmse
from docclean.modelstore import DEFAULT_MODEL, load_model
from docclean.synth import make_pair, render_page


@pytest.fixture(scope="module")
def office() -> PageCleaner:
    return PageCleaner(load_model(DEFAULT_MODEL), tile_size=512, batch_size=1)


@pytest.mark.parametrize("kind", ["lighting", "edge-shadow"])
def test_unseen_degradations_are_cleaned_better_than_classic_methods(
    office: PageCleaner, kind: str
) -> None:
    rng = np.random.default_rng([42, len(kind)])
    scores: dict[str, list[float]] = {"model": [], "no_cleaning": [], "sauvola": []}
    for _ in range(2):
        noisy, clean = make_pair(render_page(rng, (512, 512)), rng, kinds=[kind], mix=False)
        scores["model"].append(rmse(office.clean(noisy), clean))
        scores["no_cleaning"].append(rmse(noisy, clean))
        scores["sauvola"].append(rmse(sauvola(noisy).astype(np.float32), clean))
    mean = {name: float(np.mean(values)) for name, values in scores.items()}
    assert mean["model"] < 0.8 * mean["no_cleaning"], mean
    assert mean["model"] < 0.8 * mean["sauvola"], mean
