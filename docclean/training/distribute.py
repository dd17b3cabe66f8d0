"""Training on every GPU TensorFlow sees: ``tf.distribute.MirroredStrategy`` when there are two or
more, TensorFlow's default (one device) otherwise.

The trainer builds and compiles its model inside ``training_strategy().scope()``; Keras'
``fit`` then splits each batch over the replicas and averages their gradients. The batch given
to ``fit`` is the global batch: ``per_replica_batch * strategy.num_replicas_in_sync``.
"""

from __future__ import annotations

from typing import Any


def training_strategy(tf: Any | None = None) -> Any:
    """A MirroredStrategy over every visible GPU when there are at least two, else the default
    strategy (its ``scope()`` changes nothing, so one code path serves both)."""
    if tf is None:
        from docclean.backend import tensorflow

        tf = tensorflow()
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) >= 2:
        return tf.distribute.MirroredStrategy([gpu.name for gpu in gpus])
    return tf.distribute.get_strategy()


def global_batch_size(per_replica: int, strategy: Any) -> int:
    """The batch ``fit`` takes so that every replica gets ``per_replica`` samples."""
    return per_replica * int(strategy.num_replicas_in_sync)
