"""Make the shop's source importable in the test process (it is not installed there)."""

from __future__ import annotations

import sys

from suites.shop.shop_process import SHOP_SRC

if str(SHOP_SRC) not in sys.path:
    sys.path.insert(0, str(SHOP_SRC))
