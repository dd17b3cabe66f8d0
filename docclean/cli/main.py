"""The ``docclean`` command line: parse options, call the library, map errors to exit codes.

No image maths here. Every :class:`DocCleanError` is turned into one message and its exit code in
:func:`main`; progress and messages go to stderr, data and JSON to stdout.
"""

from __future__ import annotations

from typing import Annotated

import typer

from docclean import __version__
from docclean.cli import clean, evaluate, models, synth, train

app = typer.Typer(
    name="docclean",
    help="Clean scanned documents: stains, folds, wrinkles, shadows and noise, removed by a "
    "convolutional denoising autoencoder.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"docclean {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Clean scanned documents with a tiled convolutional denoising autoencoder."""


app.command()(train.train)
app.command()(clean.clean)
app.command()(evaluate.evaluate)
app.command("models")(models.list_models)
app.command()(models.architectures)
app.command()(synth.synth)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
