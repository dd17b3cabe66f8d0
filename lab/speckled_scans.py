"""The default on speckled, noisy light scans of the toned specimen page (tinted headings, shaded rows).

    python lab/speckled_scans.py

For 150 and 300 dpi and gaussian noise of sigma 0-0.03, with and without salt-and-pepper (0.4 %
of the pixels black, 0.2 % white), prints the census's kind and the ink lost, components lost and
RMSE against the pure page (``harm.harm_scores``). docs/do-no-harm.md, "Levels read past the
pepper, and tints with dust on them".
"""

from __future__ import annotations

import numpy as np

from docclean.evaluation import harm
from docclean.inference.cleaner import PageCleaner
from docclean.inference.levels import normalize_levels
from docclean.inference.marks import census
from docclean.models.store import load_model


def main() -> None:
    clean = PageCleaner(load_model(None)).clean
    kinds = ("toned_scan",)
    for specimen in harm.specimens(dpis=(150, 300), size=(1400, 1100), kinds=kinds):
        if specimen.kind != "toned_scan":
            continue
        for sigma in (0.0, 0.01, 0.02, 0.03):
            for specks in (False, True):
                rng = np.random.default_rng(5)
                page = specimen.page + rng.normal(0, sigma, specimen.page.shape).astype(np.float32)
                if specks:
                    draw = rng.random(page.shape)
                    page[draw < 0.004] = 0.0
                    page[draw > 0.998] = 1.0
                page = np.clip(page, 0, 1).astype(np.float32)
                scores = harm.harm_scores(clean(page), specimen.pure)
                print(
                    f"{specimen.dpi} dpi, noise {sigma}, specks {specks}: "
                    f"{census(normalize_levels(page)).kind}; ink lost {scores['ink_lost']:.2%}, "
                    f"components lost {scores['components_lost']} of {scores['components']}, "
                    f"RMSE {scores['rmse']:.4f}"
                )


if __name__ == "__main__":
    main()
