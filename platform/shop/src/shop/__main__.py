"""`python -m shop [serve|migrate]`."""

import sys

from shop.server import main

sys.exit(main(sys.argv[1:]))
