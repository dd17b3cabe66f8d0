"""How well a tone-curve family can do at best: each 4x4 patch's own curve fitted to its target.

    python lab/curve_oracle.py [--noisy DIR --clean DIR] [--names @zoo/noisyoffice-va.txt]
                                 [--patches 60000] [--seed 0]

tone-unet's head is ``sigmoid(gain * logit(x) + bias)``, with a gain and a bias for every pixel.
Here every 4x4 patch of the validation pages gets the one curve of a family that fits its clean
target best (Levenberg-Marquardt on the patch's 16 pixels, from three starting gains), so the RMSE
left over is what that family cannot express however good the net's features are: a bound on the
head, not a model. Families: the two-term curve, and three-term ones adding ``x``, ``sqrt(x)``,
``x**2`` or ``logit(x)**2`` inside the sigmoid (tone-unet-lin adds ``x``). Patches are drawn at
random (``--patches`` of them) from all pages.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from docclean.models.layers import LOGIT_EPS
from docclean.training.data import find_pairs, load_pairs, read_name_list

D = Path("../shared/data/noisyoffice")
ZOO = Path(__file__).resolve().parents[1] / "zoo"


def _patches(page: np.ndarray, side: int = 4) -> np.ndarray:
    """The page's whole side x side patches, one row of side**2 pixels each."""
    h, w = (n - n % side for n in page.shape)
    return (
        page[:h, :w].reshape(h // side, side, w // side, side).swapaxes(1, 2).reshape(-1, side**2)
    )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def best_fit_rmse(terms: list[np.ndarray], target: np.ndarray, iterations: int = 60) -> float:
    """RMSE of ``sigmoid(sum_k theta_k * terms[k])`` with each patch's own best ``theta``."""
    features = np.stack(terms, -1)  # patches, pixels, terms
    count, _, k = features.shape
    best = np.full(count, np.inf)
    for gain in (1.0, 5.0, 0.3):  # the first term is the logit: start as a tone curve
        theta = np.zeros((count, k))
        theta[:, 0] = gain
        damping = np.full(count, 1e-2)

        def loss(theta: np.ndarray) -> np.ndarray:
            return ((_sigmoid((features * theta[:, None]).sum(-1)) - target) ** 2).sum(1)

        current = loss(theta)
        for _ in range(iterations):
            s = _sigmoid((features * theta[:, None]).sum(-1))
            jac = features * (s * (1 - s))[..., None]
            normal = np.einsum("npk,npl->nkl", jac, jac)
            grad = np.einsum("npk,np->nk", jac, s - target)
            diag = np.einsum("nkk->nk", normal)[:, :, None] * np.eye(k)
            step = np.linalg.solve(normal + damping[:, None, None] * diag + 1e-9 * np.eye(k),
                                   grad[..., None])[..., 0]  # fmt: skip
            trial = theta - step
            trial_loss = loss(trial)
            better = trial_loss < current
            theta[better], current[better] = trial[better], trial_loss[better]
            damping = np.clip(np.where(better, damping * 0.3, damping * 10), 1e-6, 1e8)
        best = np.minimum(best, current)
    return float(np.sqrt(best.sum() / target.size))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--noisy", type=Path, default=D / "train")
    parser.add_argument("--clean", type=Path, default=D / "train_cleaned")
    parser.add_argument("--names", default=f"@{ZOO / 'noisyoffice-va.txt'}")
    parser.add_argument("--patches", type=int, default=60000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    names = set(read_name_list(args.names))
    pairs, _ = load_pairs([p for p in find_pairs(args.noisy, args.clean)[0] if p.name in names])
    noisy = np.concatenate([_patches(pair.noisy) for pair in pairs])
    clean = np.concatenate([_patches(pair.clean) for pair in pairs])
    pick = np.random.default_rng(args.seed).choice(len(noisy), args.patches, replace=False)
    x, y = noisy[pick], clean[pick]
    clipped = np.clip(x, LOGIT_EPS, 1 - LOGIT_EPS)
    logit, one = np.log(clipped / (1 - clipped)), np.ones_like(x)
    print(f"{len(pairs)} pages, {args.patches} patches of 4x4; no cleaning RMSE "
          f"{np.sqrt(((x - y) ** 2).mean()):.4f}")  # fmt: skip
    families = {
        "gain * logit(x) + bias (tone-unet)": [logit, one],
        "... + slope * x (tone-unet-lin)": [logit, x, one],
        "... + h * sqrt(x)": [logit, np.sqrt(x), one],
        "... + h * x**2": [logit, x * x, one],
        "... + h * logit(x)**2": [logit, logit * logit / 6, one],
    }
    for label, terms in families.items():
        print(f"{label:40s} best-fit RMSE {best_fit_rmse(terms, y):.4f}")


if __name__ == "__main__":
    main()
