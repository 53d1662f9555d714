"""The sabotaged platform variants really differ from the safe platform, and safe is the default.

What a variant changes is read where it takes effect: the containers' environment as the stack
declares them, the shop's settings and database parameters as the shop computes them, the
ingress configuration as the ingress image renders and checks it, and the constraint as
PostgreSQL states it.
"""

from __future__ import annotations

import inspect
import json
import subprocess

import psycopg
import pytest
from docker import DockerClient
from docker.errors import ContainerError

import suites.shop.shop_import  # noqa: F401 - puts platform/shop/src on sys.path

# isort: split
from shop.settings import load_settings

from stormcheck.errors import ConfigError
from stormcheck.local import session
from stormcheck.local.component import Component
from stormcheck.local.session import bring_up, prepare_images
from stormcheck.local.stacks import STACK_COMPONENTS, components_for
from stormcheck.local.variants import (
    Variant,
    idempotency_arbiter,
    sabotage_database,
    with_variant,
)
from stormcheck.settings import Settings
from suites.shop.shop_process import SHOP_SRC, migrated_database

_SHOP_ENV = {"SHOP_DATABASE_URL": "postgresql://u@h/db", "SHOP_REDIS_URL": "redis://h/0"}
_UNIQUE = "UNIQUE (idempotency_key)"


def _envs(declared: list[Component], variant: Variant) -> dict[str, dict[str, str]]:
    return {c.name: dict(c.env) for c in with_variant(declared, variant)}


@pytest.mark.unit
def test_safe_is_the_default_and_changes_nothing() -> None:
    assert inspect.signature(bring_up).parameters["variant"].default is Variant.SAFE
    for stack in STACK_COMPONENTS:
        declared = components_for(stack)
        assert with_variant(declared, Variant.SAFE) == declared
        # the database variant is applied to a database, never to a container
        assert with_variant(declared, Variant.NO_IDEMPOTENCY_CONSTRAINT) == declared


@pytest.mark.unit
@pytest.mark.parametrize(
    ("variant", "role", "extra"),
    [
        (Variant.UNBOUNDED_DB_WAITS, "shop", {"SHOP_DB_BOUNDED_WAITS": "0"}),
        (Variant.INGRESS_UNCHECKED, "ingress", {"INGRESS_HEALTH_CHECKS": "off"}),
    ],
)
def test_a_variant_changes_its_role_and_nothing_else(
    variant: Variant, role: str, extra: dict[str, str]
) -> None:
    declared = components_for("full")  # once: each call makes new passwords
    safe = _envs(declared, Variant.SAFE)
    sabotaged = _envs(declared, variant)
    changed = {name for name in safe if safe[name] != sabotaged[name]}
    assert changed == {c.name for c in declared if c.role == role} and changed
    for name in changed:
        assert sabotaged[name] == {**safe[name], **extra}
        assert not set(extra) & set(safe[name]), "the safe platform must not set the switch"


@pytest.mark.unit
def test_the_shop_bounds_its_database_waits_unless_told_otherwise() -> None:
    assert load_settings(_SHOP_ENV).db_bounded_waits is True
    assert load_settings({**_SHOP_ENV, "SHOP_DB_BOUNDED_WAITS": "1"}).db_bounded_waits is True
    assert load_settings({**_SHOP_ENV, "SHOP_DB_BOUNDED_WAITS": "0"}).db_bounded_waits is False


@pytest.mark.unit
def test_a_sabotaged_variant_is_refused_for_a_run_the_process_does_not_own(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_engine() -> None:
        raise AssertionError("the refusal must come before the Docker engine is touched")

    monkeypatch.setattr(session, "connect", no_engine)
    for variant in (Variant.INGRESS_UNCHECKED, Variant.UNBOUNDED_DB_WAITS):
        with pytest.raises(ConfigError, match=f"variant '{variant.value}'.*throwaway run"):
            bring_up(settings, owner="user", variant=variant)


_PROBE = """
import json, sys
from shop.settings import load_settings
from shop.database import connection_kwargs, pool_timeout, reply_timeout
env = {"SHOP_DATABASE_URL": "postgresql://u@h/db", "SHOP_REDIS_URL": "redis://h/0", **json.loads(sys.argv[1])}
s = load_settings(env)
kw = connection_kwargs(s)
print(json.dumps({"connect_timeout": kw["connect_timeout"], "options": kw["options"],
                  "reply_timeout": reply_timeout(s), "pool_timeout": pool_timeout(s)}))
"""


def _shop_database_parameters(python: str, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [python, "-c", _PROBE, json.dumps(env)],
        env={"PYTHONPATH": str(SHOP_SRC)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    parameters: dict[str, object] = json.loads(done.stdout)
    return parameters


@pytest.mark.integration
def test_the_shops_database_parameters_lose_their_bounds_only_in_the_variant(
    shop_python: str,
) -> None:
    safe = _shop_database_parameters(shop_python, {})
    assert safe == {
        "connect_timeout": 3,
        "options": "-c statement_timeout=2000",
        "reply_timeout": 3.0,
        "pool_timeout": 2.0,
    }
    unbounded = _shop_database_parameters(shop_python, {"SHOP_DB_BOUNDED_WAITS": "0"})
    assert unbounded["connect_timeout"] == 0  # libpq: wait for ever
    assert unbounded["options"] == "-c statement_timeout=0"  # PostgreSQL: no limit
    assert unbounded["reply_timeout"] is None
    assert isinstance(unbounded["pool_timeout"], float) and unbounded["pool_timeout"] >= 3600


def _render_ingress(client: DockerClient, image: str, **env: str) -> str:
    env = {"HAPROXY_MODE": "ingress", "INGRESS_SERVERS": "shop-1:8080 shop-2:8080", **env}
    output = client.containers.run(image, ["render"], environment=env, remove=True)
    return output.decode() if isinstance(output, bytes) else str(output)


def _server_lines(config: str) -> list[str]:
    return [line.strip() for line in config.splitlines() if line.strip().startswith("server ")]


@pytest.mark.integration
def test_the_ingress_image_renders_checks_unless_switched_off(
    settings: Settings, docker_client: DockerClient
) -> None:
    _, built = prepare_images(settings, docker_client, roles=("ingress",))
    image = built[0].ref
    safe = _server_lines(_render_ingress(docker_client, image))
    unchecked = _server_lines(_render_ingress(docker_client, image, INGRESS_HEALTH_CHECKS="off"))
    # four backends (shop + three journeys) x two replicas, each rendered and checked by HAProxy
    assert len(safe) == len(unchecked) == 8
    assert sum(" check " in line for line in safe) == 2
    assert sum(" track shop/" in line for line in safe) == 6
    assert not [line for line in unchecked if " check" in line or " track " in line]
    with pytest.raises(ContainerError, match="INGRESS_HEALTH_CHECKS must be on or off"):
        _render_ingress(docker_client, image, INGRESS_HEALTH_CHECKS="sometimes")


@pytest.mark.integration
def test_the_database_variant_replaces_the_arbiter_only_on_an_empty_database(
    shop_python: str, postgres_dsn: str, redis_url: str
) -> None:
    with migrated_database(shop_python, postgres_dsn, redis_url) as dsn:
        assert idempotency_arbiter(dsn) == _UNIQUE
        sabotaged = sabotage_database(dsn)
        assert sabotaged == "EXCLUDE USING btree (id WITH =)"
        with psycopg.connect(dsn, autocommit=True) as conn:
            # the shop's own statement still runs, and now a key can have two orders
            for _ in range(2):
                conn.execute(
                    "INSERT INTO orders (idempotency_key, request_hash, total_cents)"
                    " VALUES ('k', 'h', 0)"
                    " ON CONFLICT ON CONSTRAINT orders_idempotency_key_unique DO NOTHING"
                )
            row = conn.execute("SELECT count(*) FROM orders WHERE idempotency_key = 'k'").fetchone()
            assert row == (2,)
        with pytest.raises(ConfigError, match=r"holds 2 orders; .* fresh throwaway database"):
            sabotage_database(dsn)
