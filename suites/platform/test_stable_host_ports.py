"""A component stopped and started again is found where the run file says, and a host port taken
before a container starts makes it start on another one — on a run of Prometheus alone.

The faults and their rollbacks are the fault activities' own (``stop`` / ``undo_stop``, as
``experiments/local/prometheus_down.yaml`` runs them; ``kill``; a zone cut off from the network);
the client is the one a test or the gate holds: the URL read from the run file before the fault.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from docker import DockerClient
from docker.models.containers import Container

from stormcheck.chaos.ledger import Ledger
from stormcheck.chaos.local import actions
from stormcheck.errors import PlatformError
from stormcheck.local.platform import RUN_LABEL
from stormcheck.local.ports import HostPorts, start_published
from stormcheck.local.session import bring_down, bring_up
from stormcheck.runs import RunFolder
from stormcheck.settings import Settings
from stormcheck.timeline import EventKind

pytestmark = pytest.mark.integration


@pytest.fixture
def prometheus_run(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunFolder]:
    """A run of the minimal stack's Prometheus alone, in a runs folder of its own (which the
    activities find through ``STORMCHECK_RUNS_DIR``); removed after the test."""
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(tmp_path))
    own = dataclasses.replace(settings, runs_dir=tmp_path, stack="minimal")
    folder, _ = bring_up(own, owner="process", only=("prometheus",))
    try:
        yield folder
    finally:
        bring_down(own, folder)


def _ready(url: str) -> int:
    return requests.get(url + "/-/ready", timeout=5).status_code


def _host_port(url: str) -> int:
    return int(urlsplit(url).port or 0)


# The faults that take a container's published ports away, and their rollbacks (the experiments'
# prometheus_down, the kill-type faults, a zone cut off from the run's network).
FAULTS: dict[str, tuple[Callable[..., object], Callable[..., object]]] = {
    "stop": (partial(actions.stop, "prometheus"), actions.undo_stop),
    "kill": (partial(actions.kill, "prometheus"), actions.undo_kill),
    "zone-disconnect": (partial(actions.zone_down, "a", mode="disconnect"), actions.undo_zone_down),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_prometheus_brought_back_answers_on_the_same_endpoint(
    fault: str, prometheus_run: RunFolder, docker_client: DockerClient
) -> None:
    apply, undo = FAULTS[fault]
    manifest = prometheus_run.read_manifest()
    assert manifest.components["prometheus"].zone == "a"
    url = manifest.endpoint("prometheus")  # what a client holds for the whole run
    container = docker_client.containers.get(manifest.container("prometheus"))
    bindings = container.attrs["HostConfig"]["PortBindings"]["9090/tcp"]
    assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(_host_port(url))}]
    assert _ready(url) == 200
    configuration = {"stormcheck_run": manifest.run_id}

    for _ in range(2):  # twice: a second cycle must not move it either
        apply(configuration=configuration)
        with pytest.raises(requests.RequestException):
            _ready(url)
        undo(configuration=configuration)  # brings it back and waits until it is ready
        assert _ready(url) == 200

    after = prometheus_run.read_manifest()
    assert after.endpoint("prometheus") == url
    notes = prometheus_run.timeline.events(EventKind.NOTE)
    assert [e for e in notes if e.name == "endpoints moved"] == []


class _Racing(HostPorts):
    """Offers ports that are already taken first, one per container, as a run choosing at the
    same moment could; then chooses as usual."""

    def __init__(self, taken_first: list[int]) -> None:
        super().__init__(set, taken=lambda _port: False)
        self._first = list(taken_first)

    def choose(self, count: int) -> list[int]:
        return [self._first.pop(0)] if self._first else super().choose(count)


def _host_port_of(container: Container) -> int:
    container.reload()
    return int(container.attrs["HostConfig"]["PortBindings"]["9090/tcp"][0]["HostPort"])


def test_a_port_taken_before_the_start_is_replaced_by_a_free_one(
    prometheus_run: RunFolder, docker_client: DockerClient
) -> None:
    """Docker's real refusals — a port another container publishes, a port a host process
    listens on — are recognised, and the container is made again on a free port."""
    manifest = prometheus_run.read_manifest()
    by_container = _host_port(manifest.endpoint("prometheus"))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    by_host = int(listener.getsockname()[1])
    ports = _Racing([by_container, by_host])
    made: list[str] = []
    image = manifest.components["prometheus"].image

    def create(published: dict[str, tuple[str, int]]) -> Container:
        container = docker_client.containers.create(
            image,
            entrypoint=["sleep", "300"],
            name=f"sc-{manifest.run_id}-ports-{len(made)}",
            labels={"stormcheck.managed": "true", RUN_LABEL: manifest.run_id},
            ports=published,
            nano_cpus=int(0.1e9),
            mem_limit="32m",
        )
        made.append(str(container.name))
        return container

    try:
        started = start_published(create, [9090], ports, what="sleeper")
    finally:
        listener.close()
    assert len(made) == 3
    flt = {"label": f"{RUN_LABEL}={manifest.run_id}"}
    left = {str(c.name) for c in docker_client.containers.list(all=True, filters=flt)}
    assert made[0] not in left and made[1] not in left, "a refused container is removed"
    attrs = docker_client.api.inspect_container(made[2])
    (binding,) = attrs["NetworkSettings"]["Ports"]["9090/tcp"]
    assert attrs["State"]["Running"] and binding["HostIp"] == "127.0.0.1"
    assert int(binding["HostPort"]) == _host_port_of(started) not in (by_container, by_host)


def test_a_port_taken_while_stopped_fails_the_rollback_with_one_clear_error(
    prometheus_run: RunFolder, docker_client: DockerClient
) -> None:
    """Only something asking for that very port can take it; the rollback then says so, the
    fault stays in the ledger, and once the port is free again the same rollback succeeds."""
    manifest = prometheus_run.read_manifest()
    url = manifest.endpoint("prometheus")
    configuration = {"stormcheck_run": manifest.run_id}
    actions.stop("prometheus", configuration=configuration)
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        squatter.bind(("127.0.0.1", _host_port(url)))
        squatter.listen()
        with pytest.raises(PlatformError) as raised:
            actions.undo_stop(configuration=configuration)
    finally:
        squatter.close()
    container = manifest.container("prometheus")
    message = str(raised.value)
    assert f"prometheus: cannot start container {container} again" in message
    assert "taken while it was stopped" in message and "address already in use" in message
    assert [e.action for e in Ledger(prometheus_run).live()] == ["stop"]
    actions.undo_stop(configuration=configuration)
    assert _ready(url) == 200
    assert Ledger(prometheus_run).live() == []
