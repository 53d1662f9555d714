"""The load scenarios: each locustfile of ``load/``, its load model and the endpoint it targets.

A module-level registry (a self-test checks it matches the files on disk). Load reaches a run
the way users do: through its ingress when it has one (:func:`load_target`); a scenario's own
component (an API replica) is the target only on a stack without an ingress. Each load model
reads its own options (:data:`MODEL_OPTIONS`); :func:`refuse_foreign_options` rejects the others
instead of ignoring them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from stormcheck.errors import ConfigError
from stormcheck.load.patterns import PATTERNS
from stormcheck.paths import project_root

__all__ = [
    "INGRESS",
    "MODEL_OPTIONS",
    "PATTERN_NAMES",
    "SCENARIOS",
    "LoadModel",
    "Scenario",
    "load_target",
    "refuse_foreign_options",
    "scenario",
]

LoadModel = Literal["closed", "open", "pattern"]

# The built-in patterns' names (load/shapes.py steps through the same PATTERNS).
PATTERN_NAMES: tuple[str, ...] = tuple(sorted(PATTERNS))

# The component users come through, where a stack has one (its endpoint `api`).
INGRESS = "ingress"

# The options (as ``stormcheck load`` spells them) that each load model reads.
MODEL_OPTIONS: dict[LoadModel, tuple[str, ...]] = {
    "closed": ("--users", "--spawn-rate"),
    "open": ("--rate", "--share"),
    "pattern": ("--users", "--shape"),
}


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
        summary="shoppers and API clients following ramp, step, spike, soak or a load-shape file",
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


def load_target(chosen: Scenario, components: Collection[str]) -> tuple[str, str]:
    """The (component, endpoint) ``chosen`` sends its load to on a run of ``components``.

    The ingress when the run has one, as users come; else the scenario's own component.
    """
    if INGRESS in components:
        return INGRESS, "api"
    return chosen.component, chosen.endpoint


def refuse_foreign_options(chosen: Scenario, given: Collection[str]) -> None:
    """Raise :class:`ConfigError` (one line) if ``given`` holds a model option ``chosen`` ignores.

    ``given`` are the options the user set, spelled as on the command line (``--rate``); options
    that belong to no model are not judged here.
    """
    every = {option for options in MODEL_OPTIONS.values() for option in options}
    mine = MODEL_OPTIONS[chosen.model]
    foreign = [option for option in given if option in every and option not in mine]
    if not foreign:
        return
    takers = sorted(
        s.name for s in SCENARIOS.values() if all(o in MODEL_OPTIONS[s.model] for o in foreign)
    )
    names = ", ".join(foreign)
    hint = f"; use {' or '.join(takers)} for {names}" if takers else ""
    raise ConfigError(
        f"load scenario {chosen.name!r} is {chosen.model}-model: {names} does not apply"
        f" (it takes {', '.join(mine)}){hint}"
    )
