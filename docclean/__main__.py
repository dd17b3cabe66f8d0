"""``python -m docclean``."""

from docclean.cli.main import main

main()
