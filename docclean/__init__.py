"""docclean: clean scanned documents with a tiled convolutional denoising autoencoder."""

__version__ = "0.1.0"
