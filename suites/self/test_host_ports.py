"""Choosing the host ports a run's containers are published on, and starting again on other
ports when one was taken between the choice and the start (no Docker: the start is simulated)."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any, cast

import docker.errors
import pytest
from docker import DockerClient

from stormcheck.errors import PlatformError
from stormcheck.local.ports import (
    PORT_FLOOR,
    HostPorts,
    candidate_ports,
    engine_reservations,
    is_port_conflict,
    reserved_ports,
    start_published,
)

pytestmark = pytest.mark.unit

# What Docker 20.10 answered here, for another container's port and for a host listener's.
ALLOCATED = (
    "driver failed programming external connectivity on endpoint sc-x-prometheus (0123abcd):"
    " Bind for 127.0.0.1:23456 failed: port is already allocated"
)
IN_USE = (
    "driver failed programming external connectivity on endpoint sc-x-prometheus (0123abcd):"
    " Error starting userland proxy: listen tcp4 127.0.0.1:23456: bind: address already in use"
)


def _api_error(explanation: str) -> docker.errors.APIError:
    return docker.errors.APIError("500 Server Error", explanation=explanation)


def test_candidates_lie_outside_the_kernels_ephemeral_range() -> None:
    ports = candidate_ports((32768, 60999))
    assert ports[0] == PORT_FLOOR and 32767 in ports and 61000 in ports and 65535 in ports
    assert not any(32768 <= p <= 60999 for p in ports)
    assert len(set(ports)) == len(ports) == (32768 - PORT_FLOOR) + (65536 - 61000)


def test_a_kernel_using_nearly_every_port_leaves_the_whole_range_above_the_floor() -> None:
    assert candidate_ports((1024, 65000)) == range(PORT_FLOOR, 65536)


def test_reserved_ports_count_stopped_containers_bindings_and_live_ones() -> None:
    stopped = {
        "HostConfig": {
            "PortBindings": {"9090/tcp": [{"HostIp": "127.0.0.1", "HostPort": "24001"}]}
        },
        "NetworkSettings": {"Ports": {}},
    }
    ephemeral = {  # made without a host port: only its live binding holds one
        "HostConfig": {"PortBindings": {"6379/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}},
        "NetworkSettings": {"Ports": {"6379/tcp": [{"HostIp": "127.0.0.1", "HostPort": "41234"}]}},
    }
    unpublished = {"HostConfig": {"PortBindings": None}, "NetworkSettings": {"Ports": None}}
    assert reserved_ports([stopped, ephemeral, unpublished]) == {24001, 41234}


def test_choices_avoid_reserved_and_listened_ports_and_never_repeat() -> None:
    listened = {20003, 20005}
    ports = HostPorts(
        lambda: {20000, 20001},
        candidates=range(20000, 20010),
        taken=lambda port: port in listened,
        rng=random.Random(7),
    )
    first = ports.choose(3)
    second = ports.choose(3)
    chosen = first + second
    assert len(set(chosen)) == 6
    assert not set(chosen) & ({20000, 20001} | listened)
    with pytest.raises(PlatformError, match=r"no free host port left among the 10 candidates"):
        ports.choose(1)


def test_every_choice_reads_again_what_other_containers_reserve() -> None:
    engine_holds = {20000}
    ports = HostPorts(
        lambda: set(engine_holds), candidates=range(20000, 20003), taken=lambda _p: False
    )
    (first,) = ports.choose(1)
    assert first in (20001, 20002)
    engine_holds |= {20001, 20002} - {first}  # another run made a container on the other since
    with pytest.raises(PlatformError, match=r"no free host port left among the 3 candidates"):
        ports.choose(1)


class _FakeApi:
    """Docker's container listing and inspect, counting the inspects."""

    def __init__(self, documents: dict[str, dict[str, Any]]) -> None:
        self.documents = documents
        self.inspected: list[str] = []

    def containers(self, *, all: bool) -> list[dict[str, str]]:
        assert all
        return [{"Id": cid} for cid in self.documents]

    def inspect_container(self, cid: str) -> dict[str, Any]:
        self.inspected.append(cid)
        if cid == "gone":
            raise docker.errors.NotFound("No such container: gone")
        return self.documents[cid]


def _bound(port: str) -> dict[str, Any]:
    return {"HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": port}]}}}


def test_the_engines_reservations_inspect_each_container_once() -> None:
    api = _FakeApi({"a": _bound("21000"), "gone": {}})
    read = engine_reservations(cast(DockerClient, SimpleNamespace(api=api)))
    assert read() == {21000}
    api.documents["b"] = _bound("21001")
    assert read() == {21000, 21001}
    assert api.inspected == ["a", "gone", "gone", "b"]  # one removed meanwhile is asked again


@pytest.mark.parametrize("explanation", [ALLOCATED, IN_USE])
def test_port_conflicts_are_recognised(explanation: str) -> None:
    assert is_port_conflict(_api_error(explanation))


def test_other_errors_are_not_port_conflicts() -> None:
    assert not is_port_conflict(_api_error("OCI runtime create failed: no such file"))
    assert not is_port_conflict(OSError("address already in use"))  # not Docker's answer


class _FakeContainer:
    """A created container whose start fails with the given errors, in turn."""

    def __init__(self, ports: dict[str, tuple[str, int]], error: Exception | None) -> None:
        self.ports = ports
        self.error = error
        self.started = False
        self.removed = False

    def start(self) -> None:
        if self.error is not None:
            raise self.error
        self.started = True

    def remove(self, *, force: bool = False) -> Any:
        assert force
        self.removed = True


class _Engine:
    def __init__(self, *errors: Exception | None) -> None:
        self.errors = list(errors)
        self.made: list[_FakeContainer] = []

    def create(self, ports: dict[str, tuple[str, int]]) -> _FakeContainer:
        made = _FakeContainer(ports, self.errors.pop(0) if self.errors else None)
        self.made.append(made)
        return made


def _ports() -> HostPorts:
    return HostPorts(set, candidates=range(20000, 21000), taken=lambda _p: False)


def test_a_port_taken_before_the_start_makes_the_container_again_on_other_ports() -> None:
    engine = _Engine(_api_error(ALLOCATED), _api_error(IN_USE), None)
    started = start_published(engine.create, [9090, 9091], _ports(), what="prometheus")
    assert [c.removed for c in engine.made] == [True, True, False]
    assert started is engine.made[-1] and started.started
    published = [tuple(c.ports.items()) for c in engine.made]
    for ports in published:
        assert [name for name, _ in ports] == ["9090/tcp", "9091/tcp"]
        assert all(host == "127.0.0.1" and 20000 <= port < 21000 for _, (host, port) in ports)
    every_port = [port for ports in published for _, (_, port) in ports]
    assert len(set(every_port)) == 6, "a port refused once is never offered again"


def test_another_start_failure_propagates_at_once() -> None:
    failure = _api_error("OCI runtime create failed: exec: no such file")
    engine = _Engine(failure)
    with pytest.raises(docker.errors.APIError) as raised:
        start_published(engine.create, [6379], _ports(), what="redis")
    assert raised.value is failure
    assert len(engine.made) == 1 and not engine.made[0].removed


def test_ports_taken_every_time_give_one_clear_error() -> None:
    engine = _Engine(*[_api_error(ALLOCATED)] * 3)
    with pytest.raises(PlatformError) as raised:
        start_published(engine.create, [5432], _ports(), what="postgres", attempts=3)
    message = str(raised.value)
    assert message.startswith("postgres: could not publish its ports on 127.0.0.1")
    tried = [str(c.ports["5432/tcp"][1]) for c in engine.made]
    assert f"host ports {', '.join(tried)} were each taken" in message
    assert "(3 attempts)" in message
    assert all(c.removed for c in engine.made)
