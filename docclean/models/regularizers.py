"""Training-time regularizers on a model's bottleneck: sparse (L1 activity) and contractive.

Both come from the seed tutorial. They wrap a model for training only: the wrapper shares every
layer and weight with the model, adds the penalty to the loss, and returns the model's own output,
so what is saved afterwards is the plain model, with no trace of the regularizer.

- ``sparse``: ``weight * mean(|h|)`` over the bottleneck activations ``h`` (an L1 activity penalty).
- ``contractive``: ``weight * mean((h(x + e) - h(x))**2) / sigma**2`` with ``e ~ N(0, sigma**2)``,
  a finite-difference estimate of the squared Frobenius norm of the bottleneck's Jacobian
  ``dh/dx`` (per bottleneck unit), the penalty of a contractive autoencoder; it makes the code
  insensitive to small input changes such as speckle. One extra encoder pass per step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
from keras import ops

from docclean.errors import UsageError

if TYPE_CHECKING:
    from docclean.models.architectures import Architecture

CONTRACTIVE_SIGMA = 0.01  # input perturbation for the Jacobian estimate (pixel values in [0, 1])


@keras.saving.register_keras_serializable(package="docclean")
class BottleneckPenalty(keras.layers.Layer):
    """Adds a penalty on bottleneck codes to the model's losses and passes the output through.

    Called on ``[output, code]`` (sparse) or ``[output, code, perturbed_code]`` (contractive).
    """

    def __init__(self, kind: str, weight: float, sigma: float = CONTRACTIVE_SIGMA, **kwargs: Any):
        super().__init__(**kwargs)
        if kind not in ("sparse", "contractive"):
            raise ValueError(f"unknown penalty kind {kind!r}")
        self.kind = kind
        self.weight = float(weight)
        self.sigma = float(sigma)

    def call(self, inputs: list[Any], training: bool | None = None) -> Any:
        output, code = inputs[0], inputs[1]
        if self.kind == "sparse":
            penalty = ops.mean(ops.abs(code))
        else:
            penalty = ops.mean(ops.square(inputs[2] - code)) / (self.sigma**2)
        self.add_loss(self.weight * penalty)
        return output

    def compute_output_shape(self, input_shape: list[Any]) -> Any:
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "kind": self.kind,
            "weight": self.weight,
            "sigma": self.sigma,
        }


def with_regularizer(
    model: keras.Model, arch: Architecture, kind: str, weight: float
) -> keras.Model:
    """``model`` itself for ``kind == "none"``, else a training wrapper that adds the penalty.

    ``kind`` and ``weight`` are checked by :class:`docclean.training.trainer.TrainConfig`.
    """
    if kind == "none":
        return model
    if not arch.bottleneck:
        raise UsageError(
            f"--regularizer {kind}: {arch.name} has no bottleneck of its own (its net is nested)",
            f"train {arch.grows_from} with the regularizer, then grow it into {arch.name}",
        )
    code = model.get_layer(arch.bottleneck).output
    both = keras.Model(model.input, [model.output, code], name=f"{model.name}_with_code")
    inputs = keras.Input(shape=(None, None, 1), name="noisy")
    output, code = both(inputs)
    parts = [output, code]
    if kind == "contractive":
        perturbed = keras.layers.GaussianNoise(CONTRACTIVE_SIGMA, name="perturb")(inputs)
        parts.append(both(perturbed)[1])
    penalized = BottleneckPenalty(kind, weight, name=f"{kind}_penalty")(parts)
    return keras.Model(inputs, penalized, name=f"{model.name}_{kind}")
