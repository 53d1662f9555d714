"""The load scenarios: each locustfile of ``load/``, its load model and the endpoint it targets.

A module-level registry (a self-test checks it matches the files on disk).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from stormcheck.errors import ConfigError
from stormcheck.paths import project_root

__all__ = ["PATTERN_NAMES", "SCENARIOS", "LoadModel", "Scenario", "scenario"]

LoadModel = Literal["closed", "open", "pattern"]

# The names of load/shapes.py PATTERNS (the engine cannot import it: it imports locust).
PATTERN_NAMES: tuple[str, ...] = ("ramp", "soak", "spike", "step")


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A locustfile and how to drive it."""

    name: str
    locustfile: str  # relative to the project root
    model: LoadModel
    component: str = "shop-1"
    endpoint: str = "api"
    summary: str = ""

    @property
    def path(self) -> Path:
        """The locustfile's absolute path."""
        return project_root() / self.locustfile


SCENARIOS: dict[str, Scenario] = {
    "shop": Scenario(
        name="shop",
        locustfile="load/shop.py",
        model="closed",
        summary="shoppers (browse, view, search, cart, checkout) and API clients; -u/-r",
    ),
    "shop-open": Scenario(
        name="shop-open",
        locustfile="load/shop_open.py",
        model="open",
        summary="constant arrival rate, latency from the schedule; --rate",
    ),
    "shop-shaped": Scenario(
        name="shop-shaped",
        locustfile="load/shop_shaped.py",
        model="pattern",
        summary="shoppers and API clients following ramp, step, spike or soak",
    ),
}


def scenario(name: str) -> Scenario:
    """The scenario called ``name``; :class:`ConfigError` lists the known ones otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ConfigError(
            f"load scenario {name!r}: expected one of {', '.join(sorted(SCENARIOS))}"
        ) from None
