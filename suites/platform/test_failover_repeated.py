"""Failover repetitions and the network cut-off variant (nightly: slow).

- The PostgreSQL primary is killed three times in a row; each time writes through the API come back
  within 30 s, no two members accept writes at once, and the old primary rejoins as a replica and
  becomes the sync standby (only then may the next kill fail over).
- The primary is cut off by iptables (DROP in and out, from a sidecar sharing its network
  namespace): the same guarantees, and the cut-off member, probed from inside its own namespace,
  stops accepting writes (Patroni demotes it) before another member starts accepting them.

Measured times are printed (``-s``) for the closing note.
"""

from __future__ import annotations

import dataclasses
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from docker import DockerClient
from docker.models.containers import Container

from stormcheck.local.session import bring_down, bring_up
from stormcheck.runs import Manifest, RunFolder
from stormcheck.settings import Settings
from suites.platform.ha import (
    PATRONI_MEMBERS,
    WriterProbe,
    current_endpoint,
    order_write,
    patroni_role,
    poll_until,
)

pytestmark = pytest.mark.slow

WRITES_BACK_S = 30.0
REJOIN_S = 60.0
REPETITIONS = 3


@pytest.fixture(scope="module")
def full_stack(settings: Settings) -> Iterator[RunFolder]:
    """A full stack owned by this test process, removed at the end of the module."""
    folder, _ = bring_up(dataclasses.replace(settings, stack="full"), owner="process")
    yield folder
    bring_down(settings, folder)


def _primary(client: DockerClient, manifest: Manifest) -> str:
    roles = {m: patroni_role(client, manifest, m) for m in PATRONI_MEMBERS}
    primaries = [m for m, role in roles.items() if role == "primary"]
    assert len(primaries) == 1, f"want exactly one Patroni primary, roles: {roles}"
    return primaries[0]


def _sync_standby_role(client: DockerClient, manifest: Manifest, member: str) -> str:
    """``sync_standby`` once the member is a replica Patroni names as sync standby, else its role.

    In synchronous mode Patroni promotes only the sync standby: a replica that has not become it
    yet may lack commits the primary acknowledged alone, and killing the primary then leaves the
    cluster without one until it comes back.
    """
    role = patroni_role(client, manifest, member)
    url = current_endpoint(client, manifest, member, "patroni", 8008)
    if role != "replica" or url is None:
        return str(role)
    try:
        named = requests.get(url + "/patroni", timeout=1).json().get("sync_standby") is True
    except (requests.RequestException, ValueError):
        return str(role)
    return "sync_standby" if named else "replica"


def _wait_for_a_replica(client: DockerClient, manifest: Manifest, member: str) -> float:
    took, roles = poll_until(
        lambda: _sync_standby_role(client, manifest, member), "sync_standby", timeout_s=REJOIN_S
    )
    assert took is not None, f"{member} did not rejoin as sync standby within {REJOIN_S} s: {roles}"
    return took


class _Prober:
    """Writer probes of every member in a background thread until stopped.

    A member named in ``inside`` is cut off from the network: it is asked from inside its own
    namespace (``docker exec`` over its Unix socket) instead.
    """

    def __init__(self, client: DockerClient, manifest: Manifest, inside: str | None = None) -> None:
        self.probe = WriterProbe()
        self._inside = inside
        self._container = manifest.container(inside) if inside else ""
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(client, manifest), daemon=True, name="writer-probe"
        )

    def _run(self, client: DockerClient, manifest: Manifest) -> None:
        while not self._stop.is_set():
            found = self.probe.sample(client, manifest)
            if self._inside:
                inside = _accepts_writes_inside(self._container)
                found = (found - {self._inside}) | ({self._inside} if inside else set())
                self.probe.rounds[-1] = (self.probe.rounds[-1][0], frozenset(found))
            time.sleep(0.1)

    def __enter__(self) -> WriterProbe:
        self._thread.start()
        return self.probe

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_postgres_primary_killed_three_times_recovers_each_time(
    full_stack: RunFolder, docker_client: DockerClient
) -> None:
    manifest = full_stack.read_manifest()
    api = manifest.endpoint("ingress", "api")
    measured = []
    for _ in range(REPETITIONS):
        old = _primary(docker_client, manifest)
        with _Prober(docker_client, manifest) as probe:
            docker_client.containers.get(manifest.container(old)).kill()
            resumed_s, outcomes = poll_until(
                lambda: order_write(api), "201", timeout_s=WRITES_BACK_S
            )
            assert resumed_s is not None, f"writes not back within {WRITES_BACK_S} s: {outcomes}"
            docker_client.containers.get(manifest.container(old)).start()
            rejoin_s = _wait_for_a_replica(docker_client, manifest, old)
        assert probe.split_brain() == [], f"two members accepted writes: {probe.split_brain()}"
        measured.append((old, round(resumed_s, 1), round(rejoin_s, 1)))
    print(f"postgres kill failovers (member, writes back s, rejoin s): {measured}")


def _cut_off(client: DockerClient, manifest: Manifest, member: str) -> Container:
    """A sidecar in ``member``'s network namespace that drops everything but loopback."""
    target = client.containers.get(manifest.container(member))
    labels = {k: v for k, v in target.labels.items() if k.startswith("stormcheck.")}
    rules = (
        "iptables -I INPUT -i lo -j ACCEPT && iptables -I OUTPUT -o lo -j ACCEPT"
        " && iptables -A INPUT -j DROP && iptables -A OUTPUT -j DROP && sleep infinity"
    )
    return client.containers.run(
        target.image.id,
        entrypoint=["sh", "-c", rules],
        name=f"{target.name}-cutoff",
        network_mode=f"container:{target.id}",
        cap_add=["NET_ADMIN"],
        labels={**labels, "stormcheck.role": "fault"},
        detach=True,
    )


def _restore(sidecar: Container) -> None:
    """Delete the cut-off rules (they live in the member's namespace), then the sidecar."""
    undo = (
        "iptables -D INPUT -j DROP; iptables -D OUTPUT -j DROP;"
        " iptables -D INPUT -i lo -j ACCEPT; iptables -D OUTPUT -o lo -j ACCEPT"
    )
    sidecar.exec_run(["sh", "-c", undo])
    sidecar.remove(force=True)


def _accepts_writes_inside(container: str) -> bool:
    """Whether the member takes a write, asked over its own Unix socket (no network needed)."""
    result = subprocess.run(
        ["docker", "exec", container, "psql", "-h", "/var/run/postgresql", "-U", "postgres",
         "-d", "shop", "-Atc", "set statement_timeout = 1000; select txid_current()"],
        capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    return result.returncode == 0


def test_postgres_primary_cut_off_by_iptables_fails_over_without_two_writers(
    full_stack: RunFolder, docker_client: DockerClient
) -> None:
    manifest = full_stack.read_manifest()
    api = manifest.endpoint("ingress", "api")
    old = _primary(docker_client, manifest)
    old_container = manifest.container(old)
    assert _accepts_writes_inside(old_container)
    sidecar = _cut_off(docker_client, manifest, old)
    try:
        # the rules are in place once the member's REST API stops answering from outside
        cut_s, _ = poll_until(
            lambda: str(patroni_role(docker_client, manifest, old)), "None", timeout_s=10
        )
        assert cut_s is not None, f"{old} still answers after the iptables cut-off"
        with _Prober(docker_client, manifest, inside=old) as probe:
            resumed_s, outcomes = poll_until(
                lambda: order_write(api), "201", timeout_s=WRITES_BACK_S
            )
            assert resumed_s is not None, f"writes not back within {WRITES_BACK_S} s: {outcomes}"
            new = _primary(docker_client, manifest)
            # the cut-off member must have stopped taking writes (Patroni demoted it)
            still_writable = _accepts_writes_inside(old_container)
    finally:
        _restore(sidecar)
    assert new != old
    assert not still_writable, f"{old} still takes writes while cut off"
    assert probe.split_brain() == [], f"two members accepted writes: {probe.split_brain()}"
    assert any(old in found for _, found in probe.rounds), "the probe never saw the old primary"
    try:
        rejoin_s = _wait_for_a_replica(docker_client, manifest, old)
    except AssertionError as exc:
        logs = docker_client.containers.get(old_container).logs(tail=30).decode(errors="replace")
        raise AssertionError(f"{exc}\nlast log lines of {old}:\n{logs}") from None
    print(
        f"postgres cut-off failover: writes back after {resumed_s:.1f} s, rejoin {rejoin_s:.1f} s"
    )
