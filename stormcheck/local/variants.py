"""Sabotaged variants of the local platform: the negative controls that prove the judge can fail.

Each variant removes one protection the platform relies on, for real, in the software that runs:

- ``no-idempotency-constraint``: the shop's ``orders_idempotency_key_unique`` constraint no longer
  covers the idempotency key. The shop's code is unchanged (it still says ``ON CONFLICT ON
  CONSTRAINT orders_idempotency_key_unique DO NOTHING``), but the constraint of that name now
  only excludes a second row with the same primary key, so two concurrent checkouts with one key
  both insert: a retry racing its own first attempt makes a second order.
- ``ingress-unchecked``: the ingress's API servers carry no health ``check`` (HAProxy's
  ``INGRESS_HEALTH_CHECKS=off``), so a dead or hung replica keeps its share of the traffic.
- ``unbounded-db-waits``: the shop's database calls lose their bounded waits
  (``SHOP_DB_BOUNDED_WAITS=0``: no statement timeout, reply deadline, connect timeout, or limit on
  the wait for a pooled connection).

The default is :attr:`Variant.SAFE`, and a variant is chosen only by an argument in code (never a
setting, an environment variable or a command-line option), only for a run that the calling
process owns and removes (:func:`stormcheck.local.session.bring_up` refuses it otherwise), or,
for the database variant, only on a database that holds no order yet
(:func:`sabotage_database`): a shared stack or database cannot be sabotaged by accident.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from enum import StrEnum

import psycopg

from stormcheck.errors import ConfigError
from stormcheck.local import readiness
from stormcheck.local.component import Component

__all__ = [
    "INGRESS_ENV",
    "RESTORE_CONSTRAINT_SQL",
    "SABOTAGE_CONSTRAINT_SQL",
    "SHOP_ENV",
    "Variant",
    "idempotency_arbiter",
    "sabotage_database",
    "with_variant",
]


class Variant(StrEnum):
    """A platform variant: the safe platform, or one protection removed on purpose."""

    SAFE = "safe"
    NO_IDEMPOTENCY_CONSTRAINT = "no-idempotency-constraint"
    INGRESS_UNCHECKED = "ingress-unchecked"
    UNBOUNDED_DB_WAITS = "unbounded-db-waits"


# The environment each variant adds to the containers of a role (empty: the role as declared).
SHOP_ENV: Mapping[Variant, Mapping[str, str]] = {
    Variant.UNBOUNDED_DB_WAITS: {"SHOP_DB_BOUNDED_WAITS": "0"},
}
INGRESS_ENV: Mapping[Variant, Mapping[str, str]] = {
    Variant.INGRESS_UNCHECKED: {"INGRESS_HEALTH_CHECKS": "off"},
}

# The ingress's backends whose servers the readiness check reads (stacks.INGRESS_JOURNEYS + shop)
_INGRESS_BACKENDS = ("shop", "catalogue", "cart", "checkout")

CONSTRAINT = "orders_idempotency_key_unique"
# The constraint keeps its name (the shop's ON CONFLICT names it) but arbitrates the primary key
# only, which never conflicts: ON CONFLICT ... DO NOTHING accepts an exclusion constraint.
SABOTAGE_CONSTRAINT_SQL = (
    f"ALTER TABLE orders DROP CONSTRAINT {CONSTRAINT};"
    f" ALTER TABLE orders ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING btree (id WITH =)"
)
RESTORE_CONSTRAINT_SQL = (
    f"ALTER TABLE orders DROP CONSTRAINT {CONSTRAINT};"
    f" ALTER TABLE orders ADD CONSTRAINT {CONSTRAINT} UNIQUE (idempotency_key)"
)
_ARBITER = (
    "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE conrelid = 'orders'::regclass AND conname = %s"
)


def with_variant(components: Iterable[Component], variant: Variant) -> list[Component]:
    """``components`` as ``variant`` runs them (the same objects for :attr:`Variant.SAFE`).

    The database variant changes no container: it is applied to the database once the shop has
    migrated it (:func:`sabotage_database`).
    """
    return [_as_variant(component, variant) for component in components]


def _as_variant(component: Component, variant: Variant) -> Component:
    extra = {"shop": SHOP_ENV, "ingress": INGRESS_ENV}.get(component.role, {}).get(variant)
    if not extra:
        return component
    changed = dataclasses.replace(component, env={**component.env, **extra})
    return _unchecked_ingress_ready(changed) if changed.role == "ingress" else changed


def _unchecked_ingress_ready(ingress: Component) -> Component:
    # Servers without a check show "no check" in HAProxy's stats instead of UP.
    servers = tuple(ingress.env["INGRESS_SERVERS"].split())
    want = {server.partition(":")[0]: "no check" for server in servers}
    return dataclasses.replace(
        ingress,
        ready=readiness.all_of(
            readiness.http_ready("api", "/ready"),
            *(readiness.backend_states("stats", b, want) for b in _INGRESS_BACKENDS),
        ),
    )


def idempotency_arbiter(dsn: str) -> str:
    """The definition of the constraint the shop's checkout relies on, as PostgreSQL states it."""
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        row = conn.execute(_ARBITER, (CONSTRAINT,)).fetchone()
    if row is None:
        raise ConfigError(f"database {_name(dsn)}: no constraint {CONSTRAINT} on orders")
    return str(row[0])


def sabotage_database(dsn: str) -> str:
    """Make ``dsn``'s orders accept several orders per idempotency key; return the new arbiter.

    Refused (:class:`ConfigError`) on a database that already holds an order: a throwaway
    database, migrated and still empty, is the only kind a negative control may sabotage.
    """
    with psycopg.connect(dsn, connect_timeout=5) as conn, conn.transaction():
        # Locks the table first: no order can slip in between the check and the change.
        conn.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        row = conn.execute("SELECT count(*) FROM orders").fetchone()
        orders = int(row[0]) if row else 0
        if orders:
            raise ConfigError(
                f"database {_name(dsn)}: holds {orders} orders; the idempotency sabotage runs only"
                " on a fresh throwaway database"
            )
        conn.execute(SABOTAGE_CONSTRAINT_SQL)
    return idempotency_arbiter(dsn)


def _name(dsn: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(dsn).get("dbname") or "?")
