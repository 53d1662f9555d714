"""``python -m stormcheck``: the same as the ``stormcheck`` script."""

from stormcheck.cli import main

main()
