"""Shop traffic, closed model, following a pattern: ramp, step, spike or soak.

    locust -f load/shop_shaped.py --headless --host http://127.0.0.1:PORT \\
        --pattern spike --peak-users 30 --pattern-seconds 120
"""

from __future__ import annotations

from locust import events

from load.journeys import ApiUser, ShopperUser
from load.request_log import RequestLogPlugin
from load.shapes import PatternShape, add_pattern_arguments

__all__ = ["ApiUser", "PatternShape", "ShopperUser"]

events.init_command_line_parser.add_listener(add_pattern_arguments)
RequestLogPlugin().install(events)
