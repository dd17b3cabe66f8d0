"""The inference copy of a model: the same weights and outputs, in layers that run faster.

A transposed convolution whose kernel equals its stride (the U-Net's upsampling, the tone-curve
head's painting of 4 x 4 patches) is a matrix product and a reshuffle, but TensorFlow runs it as
the gradient of a convolution, slowly on CPUs: the head alone took a third of the default's time.
:func:`inference_model` swaps each such layer for a
:class:`~docclean.models.layers.PatchTranspose` computing with the same weights.
"""

from __future__ import annotations

from typing import Any


def is_patch_transpose(layer: Any) -> bool:
    """Whether ``layer`` is a transposed convolution that lays out one patch per input pixel."""
    import keras

    if type(layer) is not keras.layers.Conv2DTranspose:
        return False
    config = layer.get_config()
    kernel, strides = tuple(config["kernel_size"]), tuple(config["strides"])
    return (
        kernel[0] == kernel[1] == strides[0] == strides[1]
        and config["padding"] == "valid"
        and config.get("output_padding") is None
        and tuple(config.get("dilation_rate", (1, 1))) == (1, 1)
        and config.get("data_format", "channels_last") == "channels_last"
        and config.get("use_bias", True)
    )


def inference_model(model: Any) -> Any:
    """``model`` with every :func:`is_patch_transpose` layer (nested models' too) replaced by an
    equivalent :class:`~docclean.models.layers.PatchTranspose`. Every weight is shared: the copy
    computes with ``model``'s variables, so it follows them while ``model`` trains (the trainer
    scores its validation pages through a :class:`~docclean.inference.cleaner.PageCleaner`).
    ``model`` itself when there is nothing to replace."""
    import keras

    from docclean.models.layers import PatchTranspose

    def swapped(layer: Any) -> Any:
        if not is_patch_transpose(layer):
            return layer
        config = layer.get_config()
        faster = PatchTranspose(
            config["filters"],
            config["kernel_size"][0],
            activation=config["activation"],
            name=layer.name,
            dtype=layer.dtype_policy,
        )
        faster.share_weights_of(layer)
        return faster

    if not any(is_patch_transpose(layer) for layer in all_layers(model)):
        return model
    graph = keras.Model(model.input, model.output, name=model.name)  # not compiled: not needed
    return keras.models.clone_model(graph, clone_function=swapped, recursive=True)


def all_layers(model: Any) -> list[Any]:
    """The layers of ``model`` and of the models nested in it."""
    import keras

    found = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model):
            found += all_layers(layer)
    return found
