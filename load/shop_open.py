"""Shop traffic, open model: a constant arrival rate, latency measured from the schedule.

    locust -f load/shop_open.py --headless --host http://127.0.0.1:PORT -t 30s \\
        --arrival-rate 40 --request-log reports/load/open.jsonl --p95-ms 500

``--arrival-generators N`` splits the rate over N generator users (one per worker when
distributed). The exit code is the thresholds' verdict over the request log.
"""

from __future__ import annotations

from locust import events

from load.arrivals import ArrivalUser
from load.request_log import RequestLogPlugin
from load.shapes import ConstantArrivalRateShape, add_arrival_arguments

__all__ = ["ArrivalUser", "ConstantArrivalRateShape"]

events.init_command_line_parser.add_listener(add_arrival_arguments)
RequestLogPlugin().install(events)
