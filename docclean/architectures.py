"""Named model architectures: one registry that training, loading and tiling all consult.

Each entry knows how to build a fresh Keras functional model for single-channel pages of any size
(multiples of ``stride``) and how far its output looks (``receptive_radius``), which is what the
tiler needs for seamless, exact stitching.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from docclean.errors import UsageError

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class Architecture:
    """A buildable architecture and the geometry facts the tiler needs."""

    name: str
    summary: str
    build: Callable[[], keras.Model]
    receptive_radius: int
    stride: int


def _seed_text() -> keras.Model:
    """The seed tutorial's text-cleaning autoencoder (Conv64-Pool-Conv64-Up-Conv1)."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(None, None, 1), name="noisy")
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="enc_conv")(inputs)
    x = layers.MaxPooling2D(2, name="enc_pool")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="mid_conv")(x)
    x = layers.UpSampling2D(2, name="dec_up")(x)
    outputs = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="clean")(x)
    return keras.Model(inputs, outputs, name="seed_text")


ARCHITECTURES: dict[str, Architecture] = {
    arch.name: arch
    for arch in (
        Architecture(
            name="seed-text",
            summary="seed tutorial autoencoder: Conv64 3x3, MaxPool 2, Conv64 3x3, UpSample 2, Conv1 "
            "3x3 sigmoid (MSE, Adam 1e-3)",
            build=_seed_text,
            receptive_radius=5,
            stride=2,
        ),
    )
}


def get_architecture(name: str) -> Architecture:
    """The registered architecture called ``name``; unknown names are a usage error."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise UsageError(f"unknown architecture {name!r}", f"choose one of: {known}") from None
