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


# --- bilevel targets (DIBCO): text = black = foreground -------------------------------------------


def is_bilevel(target: np.ndarray) -> bool:
    """True when every pixel is pure black or pure white."""
    return bool(np.all((target == 0.0) | (target == 1.0)))


def text_mask(page: np.ndarray) -> np.ndarray:
    """Foreground (text) pixels: darker than mid-gray."""
    return np.asarray(page) < 0.5


def fmeasure(output: np.ndarray, target: np.ndarray) -> float:
    """F-measure (percent) of the text pixels of ``output`` against ``target``."""
    out, ref = text_mask(output), text_mask(target)
    tp = np.count_nonzero(out & ref)
    if tp == 0:
        return 0.0
    precision = tp / np.count_nonzero(out)
    recall = tp / np.count_nonzero(ref)
    return float(100.0 * 2 * precision * recall / (precision + recall))


def pseudo_fmeasure(output: np.ndarray, target: np.ndarray) -> float:
    """Pseudo F-measure (percent), as in H-DIBCO 2010/2012: recall is measured on the skeleton of
    the target's text (scikit-image's skeletonize), so stroke width does not count; precision is
    the ordinary one."""
    from skimage.morphology import skeletonize

    out, ref = text_mask(output), text_mask(target)
    skeleton = skeletonize(ref)
    tp = np.count_nonzero(out & ref)
    if tp == 0 or not skeleton.any():
        return 0.0
    precision = tp / np.count_nonzero(out)
    pseudo_recall = np.count_nonzero(out & skeleton) / np.count_nonzero(skeleton)
    if precision + pseudo_recall == 0:
        return 0.0
    return float(100.0 * 2 * precision * pseudo_recall / (precision + pseudo_recall))


def drd_weights(size: int = 5) -> np.ndarray:
    """The normalised weight matrix of DRD: reciprocal distance to the centre, centre 0, sum 1."""
    c = size // 2
    yy, xx = np.mgrid[0:size, 0:size]
    dist = np.hypot(yy - c, xx - c)
    weights = np.divide(1.0, dist, out=np.zeros_like(dist), where=dist > 0)
    return weights / weights.sum()


def drd(output: np.ndarray, target: np.ndarray, block: int = 8) -> float:
    """Distance-reciprocal distortion (Lu et al. 2004), as in DIBCO.

    Each pixel that differs from the target costs the weighted share of target pixels in its 5x5
    neighbourhood that differ from its new value (neighbours outside the page cost nothing); the
    sum is divided by the number of non-uniform 8x8 blocks of the target (partial edge blocks count).
    """
    from scipy.ndimage import correlate

    out = (~text_mask(output)).astype(np.float64)  # 1 = white, 0 = black
    ref = (~text_mask(target)).astype(np.float64)
    weights = drd_weights()
    white_cost = correlate(1.0 - ref, weights, mode="constant", cval=0.0)  # output white, ref black
    black_cost = correlate(ref, weights, mode="constant", cval=0.0)  # output black, ref white
    flipped = out != ref
    total = float(np.sum(np.where(out == 1.0, white_cost, black_cost)[flipped]))
    h, w = ref.shape
    nubn = 0
    for y in range(0, h, block):
        for x in range(0, w, block):
            cell = ref[y : y + block, x : x + block]
            nubn += int(cell.min() != cell.max())
    return total / nubn if nubn else (0.0 if total == 0 else float("inf"))


def bilevel_scores(output: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """FM, pseudo-FM, PSNR and DRD of ``output`` (thresholded at 0.5) against a bilevel target."""
    binary = (~text_mask(output)).astype(np.float32)
    return {
        "fm": fmeasure(binary, target),
        "pfm": pseudo_fmeasure(binary, target),
        "psnr": psnr(binary, target),
        "drd": drd(binary, target),
    }


def character_error_rate(text: str, reference: str) -> float:
    """Levenshtein distance between the texts over the reference's length (white space folded)."""
    from rapidfuzz.distance import Levenshtein

    hyp, ref = " ".join(text.split()), " ".join(reference.split())
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(Levenshtein.distance(hyp, ref) / len(ref))
