"""On the full local stack with its monitoring (the session's ``full_platform``, shared with other
suites; these tests run in file order — the outage comes last, and puts the replicas back):

- every metric that a rule, a dashboard or an SLO reads exists, the ingress's per-journey
  backends and Patroni's included (the list is derived by parsing every expression);
- every API replica killed: the ingress keeps answering (503s it counts itself), the
  availability detection alert fires and reaches the alert sink within 40 s of the kill, and
  resolves after recovery; the time to detect is on the run's timeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from docker import DockerClient
from docker.models.containers import Container

from stormcheck.clients.alertmanager import AlertmanagerClient
from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.errors import NotReadyError
from stormcheck.local.readiness import backend_states
from stormcheck.local.stacks import INGRESS_JOURNEYS
from stormcheck.observability.inventory import used_metrics
from stormcheck.observability.sink import ReceivedAlert
from stormcheck.runs import RunFolder
from stormcheck.testing import MonitoredPlatform
from stormcheck.timeline import EventKind, now_ms
from suites.observability.traffic import IngressTraffic, absent_metrics

DETECT_WITHIN_S = 40.0
ALERT = "ShopIngressAvailabilityLow"
REPLICAS = ("shop-1", "shop-2", "shop-3")


def _named(name: str, status: str) -> Callable[[ReceivedAlert], bool]:
    return lambda alert: alert.name == name and alert.status == status


def _record_new_ports(folder: RunFolder, shops: list[Container]) -> None:
    """A restarted container gets new host ports: the shared run file must say where it is now."""
    manifest = folder.read_manifest()
    for name, shop in zip(REPLICAS, shops, strict=True):
        shop.reload()
        port = shop.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
        manifest.update(name, endpoints={"api": f"http://127.0.0.1:{port}"})
    folder.write_manifest(manifest)


def _all_up(stats: dict[str, str], backend: str) -> Callable[[], str | None]:
    check = backend_states("stats", backend, dict.fromkeys(REPLICAS, "UP"))

    def outcome() -> str | None:
        try:
            check(stats)
        except NotReadyError as exc:
            return str(exc)
        return None

    return outcome


def _poll(what: str, check: Callable[[], str | None], timeout_s: float) -> None:
    """Call ``check`` (None: done; a string: why not yet) until done; fail naming the reason."""
    deadline = time.monotonic() + timeout_s
    reason = "not checked yet"
    while time.monotonic() < deadline:
        outcome = check()
        if outcome is None:
            return
        reason = outcome
        time.sleep(1)  # poll interval: a scrape or a health check every 1-5 s
    pytest.fail(f"{what} not within {timeout_s:g} s: {reason}")


@pytest.mark.integration
def test_every_metric_used_by_rules_dashboards_and_slos_exists_on_the_full_stack(
    monitored_full_platform: MonitoredPlatform,
) -> None:
    platform = monitored_full_platform
    used = used_metrics()
    with (
        IngressTraffic(platform.manifest.endpoint("ingress", "api"), max_s=90),
        PrometheusClient(platform.manifest.endpoint("prometheus")) as prometheus,
    ):
        missing = absent_metrics(prometheus, used, timeout_s=45)
        # The names may exist already (earlier tests on the shared stack sent traffic): each
        # journey's 2xx count needs a scrape after this traffic reached it.
        deadline = time.monotonic() + 30
        journeys: set[str] = set()
        while not set(INGRESS_JOURNEYS) <= journeys and time.monotonic() < deadline:
            answered = prometheus.query_vector(
                'haproxy_backend_http_responses_total{job="ingress",code="2xx"} > 0'
            ).samples
            journeys = {s.labels["proxy"] for s in answered}
            time.sleep(1)  # poll interval: Prometheus scrapes every 5 s
    report = {name: sorted(used[name]) for name in sorted(missing)}
    assert not missing, f"metrics used but absent on the full stack (name: users): {report}"
    assert set(INGRESS_JOURNEYS) <= journeys, f"journeys answered at the ingress: {journeys}"
    print(f"all {len(used)} metrics used by rules, dashboards and SLOs exist")


@pytest.mark.e2e
def test_every_api_replica_killed_fires_the_ingress_availability_alert_and_it_resolves(
    monitored_full_platform: MonitoredPlatform, docker_client: DockerClient
) -> None:
    platform = monitored_full_platform
    timeline = platform.folder.timeline
    shops = [docker_client.containers.get(platform.manifest.container(n)) for n in REPLICAS]
    stats = {"stats": platform.manifest.endpoint("ingress", "stats")}
    with (
        IngressTraffic(platform.manifest.endpoint("ingress", "api"), max_s=240) as traffic,
        PrometheusClient(platform.manifest.endpoint("prometheus")) as prometheus,
        AlertmanagerClient(platform.manifest.endpoint("alertmanager")) as alertmanager,
    ):

        def traffic_seen() -> str | None:
            rate = prometheus.query_vector("shop:ingress_requests:rate30s").samples
            value = rate[0].value if rate else None
            return None if value is not None and value > 1 else f"ingress rate {value}"

        _poll("traffic through the ingress in Prometheus", traffic_seen, 60)
        before = [a.name for a in alertmanager.alerts() if a.name == ALERT]
        assert not before, f"{ALERT} fired before the fault"

        killed_ms = now_ms()
        for shop in shops:
            shop.kill()
        fault = timeline.record(
            EventKind.FAULT_START, "kill-every-api-replica", at_ms=killed_ms, replicas=REPLICAS
        )
        platform.sink.wait_for(
            _named(ALERT, "firing"), timeout_s=DETECT_WITHIN_S + 10, after_ms=fault.at_ms
        )
        detected = next(
            e
            for e in timeline.events(EventKind.ALERT_FIRING)
            if e.name == ALERT and e.at_ms >= fault.at_ms
        )
        ttd_ms = detected.at_ms - fault.at_ms
        timeline.record(EventKind.NOTE, "time-to-detect", alert=ALERT, ms=ttd_ms)
        during = traffic.snapshot()
        assert during["503"] > 0, f"the ingress answered no 503 during the outage: {during}"
        assert ttd_ms <= DETECT_WITHIN_S * 1000, f"{ALERT} reached the sink {ttd_ms} ms after"

        for shop in shops:
            shop.start()
        recovered = timeline.record(EventKind.FAULT_END, "kill-every-api-replica")
        _record_new_ports(platform.folder, shops)
        for backend in ("shop", *INGRESS_JOURNEYS):
            _poll(f"every replica UP in backend {backend}", _all_up(stats, backend), 90)
        _, resolved = platform.sink.wait_for(
            _named(ALERT, "resolved"), timeout_s=120, after_ms=recovered.at_ms
        )
    assert resolved.labels["severity"] == "page"
    print(f"{ALERT}: time to detect {ttd_ms} ms; traffic seen: {dict(traffic.snapshot())}")
