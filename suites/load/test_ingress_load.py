"""Load reaches the full stack the way users do: through the ingress, exempt from its rate limit.

On the session's full stack (``full_platform``): ``shop-open`` load aimed where ``stormcheck load``
aims it (:func:`~stormcheck.load.scenarios.load_target`) is answered by the ingress's journey
backends — every request of the request log shows in HAProxy's counters, each journey's among
them. The load generator's source (the host, seen as the run network's gateway) is on the
ingress's allow-list ``load_generator`` and is never rate-limited, while a client inside the
run's network, with an address of its own, gets 429s above the same rate. (``shop-open`` sends
no cart requests: each backend's count is compared with what the log sent to it.)
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from docker import DockerClient

from stormcheck.load.request_records import read_request_log
from stormcheck.load.runner import LoadPlan, run_load
from stormcheck.load.scenarios import INGRESS, load_target, scenario
from stormcheck.local.monitoring import gateway_address
from stormcheck.local.network_client import burst_from_network
from stormcheck.local.stacks import INGRESS_JOURNEYS
from stormcheck.testing import PlatformRun

pytestmark = pytest.mark.integration

BACKENDS = ("shop", *INGRESS_JOURNEYS)
# 16 clients x 40 requests in 2-4 s: well above the ingress's 200 requests/s per client
BURST_CLIENTS = 16
BURST_EACH = 40


def _journey(name: str) -> str:
    """The ingress backend a request named ``"METHOD /path?query"`` goes to (ingress.cfg's ACLs)."""
    path = name.split(" ", 1)[1].split("?", 1)[0]
    if path in ("/api/v1/categories", "/api/v1/products") or path.startswith("/api/v1/products/"):
        return "catalogue"
    if path.startswith("/api/v1/carts/"):
        return "cart"
    return "checkout" if path == "/api/v1/orders" else "shop"


def _ingress_counters(stats_url: str) -> dict[str, float]:
    """Each backend's answered requests, and the frontend's requests and denials."""
    found: dict[str, float] = {}
    for line in requests.get(stats_url + "/metrics", timeout=5).text.splitlines():
        if line.startswith("haproxy_backend_http_responses_total{"):
            proxy = line.split('proxy="', 1)[1].split('"', 1)[0]
            found[proxy] = found.get(proxy, 0.0) + float(line.rsplit(" ", 1)[1])
        elif line.startswith('haproxy_frontend_http_requests_total{proxy="shop"}'):
            found["frontend"] = float(line.rsplit(" ", 1)[1])
        elif line.startswith('haproxy_frontend_requests_denied_total{proxy="shop"}'):
            found["denied"] = float(line.rsplit(" ", 1)[1])
    missing = {*BACKENDS, "frontend", "denied"} - set(found)
    assert not missing, f"the ingress exports no counters for {sorted(missing)}"
    return found


def test_load_goes_through_the_ingress_and_is_counted_by_its_journeys(
    full_platform: PlatformRun, tmp_path: Path
) -> None:
    manifest = full_platform.manifest
    component, endpoint = load_target(scenario("shop-open"), manifest.components)
    assert component == INGRESS
    stats = manifest.endpoint(INGRESS, "stats")
    before = _ingress_counters(stats)
    result = run_load(
        LoadPlan(
            scenario=scenario("shop-open"),
            host=manifest.endpoint(component, endpoint),
            duration_s=10,
            rate=15,
        ),
        tmp_path / "load",
    )
    after = _ingress_counters(stats)
    records = read_request_log(result.request_log)
    answered = {b: after[b] - before[b] for b in BACKENDS}
    assert records, "the load sent nothing"
    assert after["frontend"] - before["frontend"] == len(records), (answered, len(records))
    assert sum(answered.values()) == len(records), (
        f"the ingress's backends answered {answered}, the request log has {len(records)}"
    )
    sent = Counter(_journey(r.name) for r in records)
    assert answered == {b: float(sent[b]) for b in BACKENDS}, (
        f"the ingress answered {answered} per backend; the request log, routed as its ACLs"
        f" route, sent {dict(sent)}"
    )
    assert sent["catalogue"] > 0 and sent["checkout"] > 0, sent
    assert after["denied"] == before["denied"], "the load generator was rate-limited"


def test_the_load_generator_is_exempt_from_the_rate_limit_and_other_clients_are_not(
    full_platform: PlatformRun, docker_client: DockerClient
) -> None:
    manifest = full_platform.manifest
    api = manifest.endpoint(INGRESS, "api")
    stats = manifest.endpoint(INGRESS, "stats")

    def burst(_: int) -> list[int]:
        with requests.Session() as session:
            return [session.get(api + "/health", timeout=5).status_code for _ in range(BURST_EACH)]

    before = _ingress_counters(stats)
    with ThreadPoolExecutor(BURST_CLIENTS) as pool:
        host_codes = Counter(c for batch in pool.map(burst, range(BURST_CLIENTS)) for c in batch)
    assert host_codes == Counter({200: BURST_CLIENTS * BURST_EACH}), host_codes
    assert _ingress_counters(stats)["denied"] == before["denied"]

    inside = burst_from_network(
        docker_client,
        manifest,
        "http://ingress:8080/health",
        clients=BURST_CLIENTS,
        requests_each=BURST_EACH,
    )
    assert inside.address != gateway_address(docker_client, str(manifest.network))
    assert inside.codes[429] > 0, f"no 429 for {inside.address}: {inside.codes}"
    assert set(inside.codes) <= {200, 429}, inside.codes
    denied = _ingress_counters(stats)["denied"] - before["denied"]
    assert denied == inside.codes[429], f"ingress denied {denied}, the client saw {inside.codes}"
