"""``python -m docclean``."""

from docclean.cli import main

main()
