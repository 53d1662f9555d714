"""The components of the local platform: what each runs, what it exposes, and when it is ready.

Readiness checks are real: a SQL query, a PING, an HTTP endpoint, a role reported by the component
itself — never a sleep. Two stacks:

- ``minimal``: postgres, redis, shop-1, and the monitoring (below) — for fast tests;
- ``full`` (design §3): 3 etcd, 2 PostgreSQL 15 + Patroni, 2 Redis + 3 Sentinels, an HAProxy
  data router (the RDS / ElastiCache primary endpoints), Toxiproxy between the API and that router,
  three API replicas over zones a/b/c behind an HAProxy ingress, the monitoring, and the log
  store (:mod:`stormcheck.local.logstore`: one OpenSearch node and the run's log shipper).

The monitoring of both stacks (:mod:`stormcheck.local.monitoring`): a PostgreSQL and a
Redis exporter (one per kind, every database of the run as a target), Alertmanager, and last
Prometheus, so that its first scrape finds everything. ``bring_up`` then installs the project's
rules and scrape configuration, rendered for the components the run has
(:func:`stormcheck.local.delivery.wire_monitoring`).

Components start in list order, each once the ones before it are ready, so a readiness check may
rely on everything before it (etcd-3 checks the cluster's health, sentinel-3 the quorum). The log
store is the exception: OpenSearch needs nothing and the shipper only OpenSearch (``needs``), so
the node's ~30 s JVM start overlaps the start of the rest.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from functools import partial

from stormcheck import redaction
from stormcheck.errors import ConfigError
from stormcheck.local import logstore as log_store
from stormcheck.local import monitoring, readiness
from stormcheck.local.component import Component, ReadyCheck

__all__ = [
    "FULL_ZONES",
    "INGRESS_JOURNEYS",
    "INGRESS_LOAD_GENERATORS",
    "PG_DATA_DIR",
    "PG_DATA_VOLUME_MIB",
    "STACK_COMPONENTS",
    "Component",
    "ReadyCheck",
    "components_for",
    "in_role",
]

FULL_ZONES = ("a", "b", "c")
# the ingress's backend per user journey (platform/local/images/haproxy/ingress.cfg): where the
# journeys' availability SLOs are measured
INGRESS_JOURNEYS = ("catalogue", "cart", "checkout")
# The ingress's allow-list `load_generator` (addresses exempt from its per-client rate limit):
# the run network's gateway, the source HAProxy sees for every client on the host.
INGRESS_LOAD_GENERATORS = "{gateway}"
# Every PostgreSQL member keeps its data directory on a capped volume of its own, so a full
# disk (a fault) stays inside it. 512 MiB holds PostgreSQL 15 (~40 MiB after initdb), the
# shop's data, and the WAL a load run leaves between checkpoints: Patroni keeps 128 MiB
# (wal_keep_size) and PostgreSQL lets WAL grow toward max_wal_size (1 GB) before a checkpoint.
PG_DATA_DIR = "/var/lib/postgresql/data"
PG_DATA_VOLUME_MIB = 512


# --- the minimal stack -----------------------------------------------------------------------


def _shop(replica: int, zone: str, *, database_url: str, redis_url: str) -> Component:
    # Inside the run's network the API reaches its dependencies by their component names.
    return Component(
        name=f"shop-{replica}",
        role="shop",
        zone=zone,
        env={
            "SHOP_DATABASE_URL": database_url,
            "SHOP_REDIS_URL": redis_url,
            "SHOP_REPLICA": f"shop-{replica}",
            "SHOP_ZONE": zone,
            "SHOP_DRAIN_SECONDS": "2",
        },
        ports={8080: ("api", "http://{host}:{port}")},
        ready=readiness.http_ready("api", "/ready"),
        cpus=0.25,
        memory_mb=256,
    )


def _postgres(password: str) -> Component:
    return Component(
        name="postgres",
        role="postgres",
        zone="a",
        env={"POSTGRES_PASSWORD": password, "POSTGRES_DB": "shop"},
        ports={5432: ("postgres", "postgresql://postgres:" + password + "@{host}:{port}/shop")},
        ready=readiness.postgres_ready,
        cpus=0.5,
        memory_mb=512,
        tmpfs={"/var/run/postgresql": "rw"},
        capped_volumes={PG_DATA_DIR: PG_DATA_VOLUME_MIB},
    )


def _redis() -> Component:
    return Component(
        name="redis",
        role="redis",
        zone="a",
        ports={6379: ("redis", "redis://{host}:{port}/0")},
        ready=readiness.redis_ready,
        cpus=0.25,
        memory_mb=128,
        volumes={"/data": "data"},
    )


def _monitoring(postgres_dsns: list[str]) -> dict[str, Callable[[], Component]]:
    # exporters connect without TLS: the run's network is private and the servers have no certs
    return {
        "postgres-exporter": lambda: monitoring.postgres_exporter(
            [f"{dsn}?sslmode=disable" for dsn in postgres_dsns]
        ),
        "redis-exporter": monitoring.redis_exporter,
        "alertmanager": monitoring.alertmanager,
        "prometheus": monitoring.prometheus,
    }


def _minimal(password: str) -> dict[str, Callable[[], Component]]:
    def shop(replica: int, zone: str) -> Callable[[], Component]:
        return lambda: _shop(
            replica,
            zone,
            database_url=f"postgresql://postgres:{password}@postgres:5432/shop",
            redis_url="redis://redis:6379/0",
        )

    return {
        "postgres": lambda: _postgres(password),
        "redis": _redis,
        "shop-1": shop(1, "a"),
        "shop-2": shop(2, "b"),
        "shop-3": shop(3, "c"),
        **_monitoring([f"postgresql://postgres:{password}@postgres:5432/shop"]),
    }


# --- the full stack --------------------------------------------------------------------------

_ETCD = ("etcd-1", "etcd-2", "etcd-3")
_PATRONI = ("pg-1", "pg-2")
_REDIS_NODES = ("redis-1", "redis-2")
_SENTINELS = ("sentinel-1", "sentinel-2", "sentinel-3")
_SHOPS = ("shop-1", "shop-2", "shop-3")


def _etcd(index: int, run_token: str) -> Component:
    name = _ETCD[index]
    return Component(
        name=name,
        role="etcd",
        zone=FULL_ZONES[index],
        env={
            "ETCD_NAME": name,
            "ETCD_ADVERTISE_CLIENT_URLS": f"http://{name}:2379",
            "ETCD_INITIAL_ADVERTISE_PEER_URLS": f"http://{name}:2380",
            "ETCD_INITIAL_CLUSTER": ",".join(f"{n}=http://{n}:2380" for n in _ETCD),
            "ETCD_INITIAL_CLUSTER_TOKEN": f"stormcheck-{run_token}",
        },
        ports={2379: ("etcd", "http://{host}:{port}"), 2380: ("peer", "http://{host}:{port}")},
        # a member alone has no quorum and its client port answers only once the cluster has one:
        # the first members are ready when their raft transport (peer port) serves, the last one
        # when the cluster is healthy
        ready=readiness.http_ready("peer", "/version")
        if index < 2
        else readiness.etcd_cluster_ready,
        cpus=0.2,
        # the tmpfs is charged to the container: etcd preallocates 64 MB WAL segments
        memory_mb=256,
        tmpfs={"/var/lib/etcd": "rw,size=160m"},
    )


def _patroni(index: int, password: str, replication_password: str) -> Component:
    name = _PATRONI[index]
    dsn = "postgresql://postgres:" + password + "@{host}:{port}/shop"
    return Component(
        name=name,
        role="patroni",
        zone=FULL_ZONES[index],
        env={
            "PATRONI_NAME": name,
            "PATRONI_SCOPE": "shop",
            "PATRONI_RESTAPI_CONNECT_ADDRESS": f"{name}:8008",
            "PATRONI_POSTGRESQL_CONNECT_ADDRESS": f"{name}:5432",
            "PATRONI_ETCD3_HOSTS": ",".join(f"{n}:2379" for n in _ETCD),
            "PATRONI_SUPERUSER_USERNAME": "postgres",
            "PATRONI_SUPERUSER_PASSWORD": password,
            "PATRONI_REPLICATION_USERNAME": "replicator",
            "PATRONI_REPLICATION_PASSWORD": replication_password,
        },
        ports={5432: ("postgres", dsn), 8008: ("patroni", "http://{host}:{port}")},
        # the first member bootstraps the cluster and holds the leader lock; the second streams
        ready=readiness.http_ready("patroni", "/primary" if index == 0 else "/replica"),
        cpus=0.5,
        memory_mb=384,
        tmpfs={"/var/run/postgresql": "rw,mode=3777"},
        capped_volumes={PG_DATA_DIR: PG_DATA_VOLUME_MIB},
    )


def _redis_node(index: int) -> Component:
    return Component(
        name=_REDIS_NODES[index],
        role="redis-node",
        zone=FULL_ZONES[index],
        env={
            "REDIS_MASTER_NAME": readiness.SENTINEL_MASTER_NAME,
            "REDIS_BOOTSTRAP_MASTER": _REDIS_NODES[0],
            "REDIS_SENTINELS": " ".join(f"{s}:26379" for s in _SENTINELS),
        },
        command=("redis-node.sh",),
        ports={6379: ("redis", "redis://{host}:{port}/0")},
        ready=readiness.redis_role_ready("redis", "master" if index == 0 else "slave"),
        cpus=0.2,
        memory_mb=128,
        volumes={"/data": "data"},
    )


def _sentinel(index: int) -> Component:
    name = _SENTINELS[index]
    return Component(
        name=name,
        role="sentinel",
        zone=FULL_ZONES[index],
        env={
            "SENTINEL_MASTER_NAME": readiness.SENTINEL_MASTER_NAME,
            "SENTINEL_MONITOR": f"{_REDIS_NODES[0]}:6379",
            "SENTINEL_QUORUM": "2",
            "SENTINEL_DOWN_AFTER_MS": "3000",
            "SENTINEL_FAILOVER_TIMEOUT_MS": "10000",
            "SENTINEL_PEERS": " ".join(f"{s}:26379" for s in _SENTINELS if s != name),
        },
        command=("sentinel.sh",),
        ports={26379: ("sentinel", "redis://{host}:{port}")},
        ready=readiness.sentinel_ready(peers=index),
        cpus=0.1,
        memory_mb=64,
    )


def _dbproxy(password: str) -> Component:
    return Component(
        name="dbproxy",
        role="dbproxy",
        zone="a",
        env={
            "HAPROXY_MODE": "data",
            "DATA_POSTGRES_SERVERS": " ".join(f"{n}:5432" for n in _PATRONI),
            "DATA_REDIS_SERVERS": " ".join(f"{n}:6379" for n in _REDIS_NODES),
        },
        ports={
            5432: ("postgres", "postgresql://postgres:" + password + "@{host}:{port}/shop"),
            6379: ("redis", "redis://{host}:{port}/0"),
            8404: ("stats", "http://{host}:{port}"),
        },
        ready=readiness.all_of(
            readiness.sql_ready("postgres", writable=True),
            readiness.redis_role_ready("redis", "master"),
        ),
        cpus=0.25,
        memory_mb=128,
    )


def _toxiproxy(password: str) -> Component:
    return Component(
        name="toxiproxy",
        role="toxiproxy",
        zone="a",
        env={"TOXIPROXY_PROXIES": "postgres=15432=dbproxy:5432 redis=16379=dbproxy:6379"},
        ports={
            8474: ("toxiproxy", "http://{host}:{port}"),
            15432: ("postgres", "postgresql://postgres:" + password + "@{host}:{port}/shop"),
            16379: ("redis", "redis://{host}:{port}/0"),
        },
        ready=readiness.all_of(
            readiness.sql_ready("postgres", writable=True),
            readiness.redis_role_ready("redis", "master"),
        ),
        cpus=0.2,
        memory_mb=64,
    )


def _ingress() -> Component:
    return Component(
        name="ingress",
        role="ingress",
        zone="a",
        env={
            "HAPROXY_MODE": "ingress",
            "INGRESS_SERVERS": " ".join(f"{n}:8080" for n in _SHOPS),
            "INGRESS_RATE_LIMIT": "200",
            # The allow-list `load_generator` (ingress.cfg): exempt from the rate limit. Locust
            # runs on the host and reaches the ingress through its published 127.0.0.1 port, so
            # HAProxy sees it (and every other host client) come from the network's gateway;
            # clients inside the run's network keep their own addresses and stay limited.
            "INGRESS_LOAD_GENERATORS": INGRESS_LOAD_GENERATORS,
            "INGRESS_MAXCONN": "32",
        },
        ports={
            8080: ("api", "http://{host}:{port}"),
            8404: ("stats", "http://{host}:{port}"),
            9999: ("runtime", "tcp://{host}:{port}"),
        },
        ready=readiness.all_of(
            readiness.http_ready("api", "/ready"),
            *(
                readiness.backend_states("stats", backend, dict.fromkeys(_SHOPS, "UP"))
                for backend in ("shop", *INGRESS_JOURNEYS)
            ),
        ),
        cpus=0.25,
        memory_mb=128,
    )


def _full(password: str) -> dict[str, Callable[[], Component]]:
    replication_password = secrets.token_urlsafe(12)
    redaction.register(replication_password)
    run_token = secrets.token_hex(4)

    def shop(replica: int) -> Callable[[], Component]:
        return lambda: _shop(
            replica,
            FULL_ZONES[replica - 1],
            database_url=f"postgresql://postgres:{password}@toxiproxy:15432/shop",
            redis_url="redis://toxiproxy:16379/0",
        )

    makers: dict[str, Callable[[], Component]] = {}
    for i, name in enumerate(_ETCD):
        makers[name] = partial(_etcd, i, run_token)
    for i, name in enumerate(_PATRONI):
        makers[name] = partial(_patroni, i, password, replication_password)
    for i, name in enumerate(_REDIS_NODES):
        makers[name] = partial(_redis_node, i)
    for i, name in enumerate(_SENTINELS):
        makers[name] = partial(_sentinel, i)
    makers["dbproxy"] = lambda: _dbproxy(password)
    makers["toxiproxy"] = lambda: _toxiproxy(password)
    for i, name in enumerate(_SHOPS, start=1):
        makers[name] = shop(i)
    makers["ingress"] = _ingress
    # each member directly, not through the router: the replica's own state is what lags
    makers.update(
        _monitoring([f"postgresql://postgres:{password}@{n}:5432/shop" for n in _PATRONI])
    )
    makers["opensearch"] = log_store.opensearch
    makers["shipper"] = log_store.shipper
    return makers


# Start order: a component starts after everything before it is ready.
_MONITORING = ("postgres-exporter", "redis-exporter", "alertmanager", "prometheus")
STACK_COMPONENTS: dict[str, tuple[str, ...]] = {
    "minimal": ("postgres", "redis", "shop-1", *_MONITORING),
    "full": (
        *_ETCD,
        *_PATRONI,
        *_REDIS_NODES,
        *_SENTINELS,
        "dbproxy",
        "toxiproxy",
        *_SHOPS,
        "ingress",
        *_MONITORING,
        *log_store.LOG_ROLES,
    ),
}


def components_for(stack: str, *, only: tuple[str, ...] = ()) -> list[Component]:
    """The components of ``stack`` (or just those named in ``only``), in start order.

    Raises :class:`ConfigError` for an unknown stack or component name.
    """
    if stack not in STACK_COMPONENTS:
        raise ConfigError(f"unknown stack {stack!r}; known: {', '.join(STACK_COMPONENTS)}")
    password = secrets.token_urlsafe(12)
    redaction.register(password)
    makers = _full(password) if stack == "full" else _minimal(password)
    names = only or STACK_COMPONENTS[stack]
    unknown = [n for n in names if n not in makers]
    if unknown:
        raise ConfigError(
            f"unknown component(s) {', '.join(unknown)} in stack {stack!r};"
            f" known: {', '.join(makers)}"
        )
    return [makers[n]() for n in names]


def in_role(component: Component) -> Component:
    """``component`` with a readiness check that holds in whatever role it has now.

    The registry's checks describe the stack as it starts (pg-1 the primary, redis-1 the master).
    After a failover the roles have moved and those checks would call a healthy member unready;
    ``status``, the rollbacks and the tests re-check running members with this one instead: a
    Patroni member running as leader or replica, a Redis node answering as master or as a
    replica whose link is up, and for every other component its own check.
    """
    if component.role == "patroni":
        return dataclasses.replace(component, ready=readiness.http_ready("patroni", "/health"))
    if component.role == "redis-node":
        return dataclasses.replace(component, ready=readiness.redis_member_ready)
    return component
