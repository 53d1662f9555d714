"""The log components of the local platform, and how a run's log store is made ready.

- ``opensearch`` (role ``opensearch``), port 9200: one node, 512 MB heap in 1 GiB, half a CPU;
- ``shipper`` (role ``shipper``): rsyslog tailing every container's Docker json-file log (the
  host's containers folder, bound read-only) and shipping the lines of ITS run only (the json-file
  ``attrs`` carry the ``stormcheck.run`` label) into daily indices ``logs-YYYY.MM.DD``. Before it
  reads a line it installs the index template, so no daily index is created with a guessed
  mapping. Its output queue is disk-assisted: while OpenSearch is stopped the lines wait, and
  while the shipper is stopped they wait in Docker's files; either way they arrive afterwards.

``opensearch`` needs nothing and ``shipper`` needs only ``opensearch`` (their ``needs``), so in a
stack they start alongside the other components. The shipper reads the log files of the
components started before it from their beginning, and picks up those started after it (inotify
on the folder). Once the run is up,
:func:`prepare_log_store` checks the pipeline end to end: the template is installed and a
document of the run is searchable.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from stormcheck.errors import BackendError, NotReadyError, PlatformError
from stormcheck.local.component import Component
from stormcheck.logstore.query import LogQuery
from stormcheck.logstore.template import TEMPLATE_NAME, read_index_template
from stormcheck.runs import Manifest
from stormcheck.timeline import now_ms
from stormcheck.verdict import Window
from stormcheck.waiting import NotYet, poll_until

if TYPE_CHECKING:
    from stormcheck.logstore.opensearch_backend import OpenSearchStore

__all__ = [
    "LOG_ROLES",
    "OPENSEARCH_MEMORY_MB",
    "opensearch",
    "prepare_log_store",
    "shipper",
]

LOG_ROLES = ("opensearch", "shipper")
OPENSEARCH_MEMORY_MB = 1024
# where the shipper sees the host's containers folder (its rsyslog configuration's default)
_CONTAINERS_MOUNT = "/docker/containers"
_SHIPPER_HEALTH_PORT = 5140
_POLL_S = 0.5


def _cluster_health_ready(endpoints: Mapping[str, str]) -> None:
    url = endpoints["opensearch"] + "/_cluster/health"
    try:
        answer = httpx.get(url, params={"wait_for_status": "yellow", "timeout": "1s"}, timeout=3)
    except httpx.HTTPError as exc:
        raise NotReadyError(f"GET {url} failed: {exc}") from exc
    if answer.status_code != httpx.codes.OK:
        raise NotReadyError(f"GET /_cluster/health answered {answer.status_code}")


def _shipper_ready(endpoints: Mapping[str, str]) -> None:
    # rsyslogd opens this port only after the template is installed and its inputs run
    where = urlsplit(endpoints["health"])
    try:
        with socket.create_connection((where.hostname or "", where.port or 0), timeout=2):
            return
    except OSError as exc:
        raise NotReadyError(
            f"rsyslogd does not listen on {where.netloc} yet ({exc}): still waiting for"
            " OpenSearch to take the index template, or not started"
        ) from exc


def opensearch() -> Component:
    """One OpenSearch node, with the environment both the built and the official image accept."""
    return Component(
        name="opensearch",
        role="opensearch",
        zone="a",
        ports={9200: ("opensearch", "http://{host}:{port}")},
        ready=_cluster_health_ready,
        env={
            "discovery.type": "single-node",
            "OPENSEARCH_JAVA_OPTS": "-Xms512m -Xmx512m",
            # the official image's switches; the built image has no security plugin at all
            "DISABLE_SECURITY_PLUGIN": "true",
            "DISABLE_INSTALL_DEMO_CONFIG": "true",
        },
        cpus=0.5,
        memory_mb=OPENSEARCH_MEMORY_MB,
        volumes={"/usr/share/opensearch/data": "data"},
        # nothing before it: its ~30 s of JVM start overlap the start of everything else
        needs=(),
    )


def shipper(
    run_id: str = "{run}",
    host_containers_dir: str = "{docker_containers}",
    *,
    opensearch_host: str = "opensearch",
) -> Component:
    """The log shipper of run ``run_id``, reading ``host_containers_dir`` (see :func:`stormcheck.local.platform.docker_containers_dir`).

    Both default to the placeholders the engine fills in when it starts the container
    (:data:`stormcheck.local.component.RUN_PLACEHOLDERS`). It needs only ``opensearch``: it starts
    as soon as the node is ready, alongside the rest of the stack. The index template goes into
    the container's environment, so the image needs no copy of it.
    """
    return Component(
        name="shipper",
        role="shipper",
        zone="a",
        ports={_SHIPPER_HEALTH_PORT: ("health", "tcp://{host}:{port}")},
        ready=_shipper_ready,
        env={
            "SHIPPER_RUN": run_id,
            "SHIPPER_OPENSEARCH": f"{opensearch_host}:9200",
            "SHIPPER_TEMPLATE_NAME": TEMPLATE_NAME,
            "SHIPPER_INDEX_TEMPLATE": json.dumps(read_index_template(), separators=(",", ":")),
            "SHIPPER_LOG_GLOB": f"{_CONTAINERS_MOUNT}/*/*-json.log",
        },
        cpus=0.25,
        memory_mb=256,
        volumes={"/var/spool/rsyslog": "spool"},
        binds={host_containers_dir: _CONTAINERS_MOUNT},
        needs=(opensearch_host,),
    )


def prepare_log_store(manifest: Manifest, *, timeout_s: float = 30.0) -> OpenSearchStore:
    """Install the index template in the run's OpenSearch and wait for the run's first document.

    The shipper installs the same template before it ships anything; doing it here as well makes
    the store usable without a shipper. Returns the store (close it when done); raises
    :class:`NotReadyError` when no log line of the run is searchable within ``timeout_s``, and
    :class:`PlatformError` when the run has no ``opensearch`` component.
    """
    if "opensearch" not in manifest.components:
        raise PlatformError(
            f"run {manifest.run_id} has no opensearch component: its log store cannot be prepared"
        )
    url = manifest.endpoint("opensearch")
    # imported here: the search client costs half a second of every CLI start otherwise
    from stormcheck.logstore.opensearch_backend import OpenSearchStore

    store = OpenSearchStore(url)
    try:
        store.put_index_template(TEMPLATE_NAME, read_index_template())

        def first_document() -> OpenSearchStore | NotYet:
            window = Window(manifest.created_ms, now_ms() + 1)
            try:
                found = store.count(LogQuery(window=window).where(run=manifest.run_id))
            except BackendError as exc:
                # A daily index that has just been created answers 503 until its shards start.
                return NotYet(f"; last answer: {exc}")
            return store if found else NotYet("")

        # the shipper delivers asynchronously: poll, bounded
        return poll_until(
            first_document,
            timeout_s=timeout_s,
            interval_s=_POLL_S,
            on_timeout=lambda last: NotReadyError(
                f"no log document of run {manifest.run_id} in {url} within {timeout_s:g} s:"
                " is the shipper running, and does it see the containers' json-file logs?" + last
            ),
        )
    except BaseException:
        store.close()
        raise
