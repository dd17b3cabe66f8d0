"""Image quality metrics for grayscale pages in [0, 1]."""

from __future__ import annotations

import math

import numpy as np


def rmse(output: np.ndarray, target: np.ndarray) -> float:
    """Root mean squared error (the Kaggle "Denoising Dirty Documents" score)."""
    diff = np.asarray(output, np.float64) - np.asarray(target, np.float64)
    return float(np.sqrt(np.mean(diff * diff)))


def psnr(output: np.ndarray, target: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for a peak of 1.0 (``inf`` for identical pages)."""
    err = rmse(output, target)
    return math.inf if err == 0 else float(20.0 * math.log10(1.0 / err))


def ssim(output: np.ndarray, target: np.ndarray) -> float:
    """Structural similarity (scikit-image, 7x7 window, data range 1); pages under 7 px use a smaller window."""
    from skimage.metrics import structural_similarity

    side = min(output.shape)
    win = min(7, side if side % 2 else side - 1)
    if win < 3:
        return 1.0 if rmse(output, target) == 0 else float("nan")
    return float(
        structural_similarity(
            np.asarray(output, np.float64),
            np.asarray(target, np.float64),
            data_range=1.0,
            win_size=win,
        )
    )


def gray_scores(output: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """RMSE, PSNR and SSIM of one page."""
    return {
        "rmse": rmse(output, target),
        "psnr": psnr(output, target),
        "ssim": ssim(output, target),
    }


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    """Metric-wise mean of per-page scores (PSNR averaged over finite values)."""
    if not rows:
        return {}
    keys = rows[0].keys()
    out: dict[str, float] = {}
    for key in keys:
        values = [r[key] for r in rows if math.isfinite(r[key])]
        out[key] = float(np.mean(values)) if values else float("nan")
    return out
