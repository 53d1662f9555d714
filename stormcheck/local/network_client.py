"""A client inside a run's network: requests from an address of its own, not the host's.

Every client on the host (Locust included) reaches the containers from the run network's
gateway, the address the ingress exempts from its per-client rate limit (its allow-list
``load_generator``, :data:`stormcheck.local.stacks.INGRESS_LOAD_GENERATORS`). Traffic that must
meet that limit — a spike above it — comes from here instead: a short-lived container on the
run's network, from the run's shop image (it has Python), that sends bursts of GETs and prints
the status codes it got. It carries the run's label, so ``down`` removes it should it outlive
its caller.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections import Counter
from dataclasses import dataclass

import docker.errors
from docker import DockerClient

from stormcheck.errors import ConfigError, PlatformError
from stormcheck.local.platform import RUN_LABEL
from stormcheck.runs import Manifest

__all__ = ["NetworkBurst", "burst_from_network"]

# Threads of http.client, each on one kept-alive connection (a new one after an error), as fast
# as they can: a client that opens a connection per request would not reach the limit on a
# busy machine.
_BURST = """
import http.client, json, sys, urllib.parse
from concurrent.futures import ThreadPoolExecutor
url, clients, each = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def burst(_):
    codes, conn = [], None
    for _ in range(each):
        try:
            conn = conn or http.client.HTTPConnection(url.hostname, url.port or 80, timeout=5)
            conn.request("GET", url.path or "/")
            answer = conn.getresponse()
            answer.read()
            codes.append(answer.status)
        except OSError:
            codes.append(0)
            conn = None
    return codes
with ThreadPoolExecutor(clients) as pool:
    codes = [c for batch in pool.map(burst, range(clients)) for c in batch]
print(json.dumps({str(c): codes.count(c) for c in set(codes)}))
"""


@dataclass(frozen=True, slots=True)
class NetworkBurst:
    """What a burst from inside the network got: status code → count (0: no answer)."""

    address: str  # the client's address on the run's network, as the server sees it
    codes: Counter[int]


def burst_from_network(
    client: DockerClient,
    manifest: Manifest,
    url: str,
    *,
    clients: int = 16,
    requests_each: int = 40,
    image_of: str = "shop-1",
    timeout_s: float = 120.0,
) -> NetworkBurst:
    """Send ``clients`` x ``requests_each`` GETs to ``url`` (as the network names it, e.g.
    ``http://ingress:8080/health``) from a container on the run's network.

    Raises :class:`ConfigError` for a run without a network or without ``image_of``, and
    :class:`PlatformError` when the container fails or prints no result.
    """
    if not manifest.network or image_of not in manifest.components:
        raise ConfigError(
            f"run {manifest.run_id}: a client inside the network needs the run's network and"
            f" its component {image_of!r} (for the image)"
        )
    name = f"sc-{manifest.run_id}-network-client-{uuid.uuid4().hex[:6]}"
    container = client.containers.create(
        manifest.components[image_of].image,
        entrypoint=["python", "-c", _BURST],
        command=[url, str(clients), str(requests_each)],
        name=name,
        network=manifest.network,
        labels={"stormcheck.managed": "true", RUN_LABEL: manifest.run_id},
        nano_cpus=int(1e9),
        mem_limit="128m",
    )
    try:
        container.start()
        container.reload()
        address = str(container.attrs["NetworkSettings"]["Networks"][manifest.network]["IPAddress"])
        status = container.wait(timeout=timeout_s)
        output = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
    except (docker.errors.DockerException, OSError) as exc:
        raise PlatformError(f"{name}: the client inside the network failed: {exc}") from exc
    finally:
        with contextlib.suppress(docker.errors.DockerException):  # else `down` reaps it by label
            container.remove(force=True)
    lines = output.strip().splitlines()
    if status.get("StatusCode") != 0 or not lines:
        raise PlatformError(f"{name} exited {status.get('StatusCode')}: {output[-500:]}")
    try:
        counted = json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        raise PlatformError(f"{name} printed no result: {output[-500:]}") from exc
    return NetworkBurst(address, Counter({int(k): int(v) for k, v in counted.items()}))
