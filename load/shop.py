"""Shop traffic, closed model: shoppers (weight 4) and API clients (weight 1).

    locust -f load/shop.py --headless --host http://127.0.0.1:PORT -u 20 -r 5 -t 30s \\
        --request-log reports/load/shop.jsonl --p95-ms 500 --max-error-ratio 0.01

The exit code is the thresholds' verdict over the request log (0 pass, 1 fail, 2 inconclusive).
"""

from __future__ import annotations

from locust import events

from load.journeys import ApiUser, ShopperUser
from load.request_log import RequestLogPlugin

__all__ = ["ApiUser", "ShopperUser"]

RequestLogPlugin().install(events)
