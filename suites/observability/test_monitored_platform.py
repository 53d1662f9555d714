"""On a monitored platform (one session run; these tests share it, so they live in one file):

- alerts reach someone: a real Alertmanager notifies the harness's sink, and a real outage is
  detected, delivered and resolved, with the time to detect measured on the run's timeline;
- every metric that a rule, a dashboard or an SLO reads exists (the list is derived by parsing
  every expression); ingress and Patroni metrics need the full stack, and the test says so.

The minimal stack has no ingress, so its availability detection is ``ShopAllReplicasDown``
(every ``shop`` scrape target down, or none left): the API's own counters vanish with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from docker import DockerClient

from stormcheck.clients.alertmanager import AlertmanagerClient
from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.errors import BackendError
from stormcheck.observability.inventory import used_metrics
from stormcheck.observability.sink import ReceivedAlert
from stormcheck.testing import MonitoredPlatform
from stormcheck.timeline import EventKind, now_ms
from suites.observability.traffic import absent_metrics

DETECT_WITHIN_S = 40.0
# metric prefix -> the component that exports it, for those absent from the minimal stack
FULL_STACK_ONLY = {"haproxy_": "ingress", "patroni_": "pg-1"}


def _named(name: str, status: str) -> Callable[[ReceivedAlert], bool]:
    return lambda alert: alert.name == name and alert.status == status


@pytest.mark.integration
def test_every_metric_used_by_rules_dashboards_and_slos_exists(
    monitored_platform: MonitoredPlatform,
) -> None:
    platform = monitored_platform
    api = platform.manifest.endpoint("shop-1", "api")
    # traffic, so request counters and histograms have series
    for path in ("/api/v1/categories", "/api/v1/products", "/api/v1/carts/none", "/no-such-page"):
        httpx.get(api + path, timeout=5)
    httpx.post(api + "/api/v1/orders", json={}, timeout=5)
    used = used_metrics()
    present_components = set(platform.manifest.components)
    unchecked = {
        name
        for name in used
        for prefix, component in FULL_STACK_ONLY.items()
        if name.startswith(prefix) and component not in present_components
    }
    wanted = set(used) - unchecked
    with PrometheusClient(platform.manifest.endpoint("prometheus")) as prometheus:
        missing = absent_metrics(prometheus, wanted, timeout_s=30)
    report = {name: sorted(used[name]) for name in sorted(missing)}
    assert not missing, f"metrics used but absent on the platform: {report}"
    print(f"checked {len(wanted)} metrics; full stack only, not checked here: {sorted(unchecked)}")


@pytest.mark.integration
def test_a_posted_alert_reaches_the_sink_and_resolves_on_the_timeline(
    monitored_platform: MonitoredPlatform,
) -> None:
    platform = monitored_platform
    name = f"DeliveryProbe{now_ms()}"
    labels = {"alertname": name, "severity": "ticket", "run": platform.folder.run_id}
    with AlertmanagerClient(platform.manifest.endpoint("alertmanager")) as client:
        posted = now_ms()
        client.fire(labels, {"summary": "delivery probe"})
        note, alert = platform.sink.wait_for(_named(name, "firing"), timeout_s=30, after_ms=posted)
        assert note.receiver == "ticket"
        assert alert.labels["run"] == platform.folder.run_id
        client.fire(labels, resolve=True)
        resolved, _ = platform.sink.wait_for(
            _named(name, "resolved"), timeout_s=30, after_ms=posted
        )
    events = [e for e in platform.folder.timeline.events() if e.name == name]
    assert [e.kind for e in events] == [EventKind.ALERT_FIRING, EventKind.ALERT_RESOLVED]
    assert events[0].at_ms == note.received_ms >= posted
    assert events[1].at_ms == resolved.received_ms >= events[0].at_ms
    assert events[0].attrs["receiver"] == "ticket"
    assert events[0].attrs["starts_at_ms"] is not None


@pytest.mark.integration
def test_a_silenced_alert_is_held_back_and_listed_as_suppressed(
    monitored_platform: MonitoredPlatform,
) -> None:
    platform = monitored_platform
    name = f"SilencedProbe{now_ms()}"
    with AlertmanagerClient(platform.manifest.endpoint("alertmanager")) as client:
        silence = client.silence(
            {"alertname": name}, duration=timedelta(minutes=5), created_by="test", comment="probe"
        )
        try:
            posted = now_ms()
            client.fire({"alertname": name, "severity": "page"})
            held = [a for a in client.alerts() if a.name == name]
            assert held and held[0].state == "suppressed" and held[0].silenced_by == (silence,)
            # group_wait is 5 s: a delivery would have come by now; none may
            with pytest.raises(BackendError, match="no matching alert"):
                platform.sink.wait_for(lambda a: a.name == name, timeout_s=12, after_ms=posted)
        finally:
            # resolve first: a still-firing alert would be delivered once the silence expires
            client.fire({"alertname": name, "severity": "page"}, resolve=True)
            client.expire_silence(silence)
        assert [s.state for s in client.silences() if s.id == silence] == ["expired"]


def _wait_scraped(prometheus: PrometheusClient, expr: str, want: float, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if prometheus.query_vector(expr).single_value() == want:
            return
        time.sleep(1)  # poll interval: one scrape is 5 s
    pytest.fail(f"{expr} never became {want} within {timeout_s:g} s")


@pytest.mark.e2e
def test_killing_every_api_replica_is_detected_delivered_and_resolved(
    monitored_platform: MonitoredPlatform, docker_client: DockerClient
) -> None:
    platform = monitored_platform
    timeline = platform.folder.timeline
    shop = docker_client.containers.get(platform.manifest.container("shop-1"))
    with PrometheusClient(platform.manifest.endpoint("prometheus")) as prometheus:
        _wait_scraped(prometheus, 'sum(up{job="shop"})', 1.0, 30)
        with AlertmanagerClient(platform.manifest.endpoint("alertmanager")) as alertmanager:
            before = [a for a in alertmanager.alerts() if a.name == "ShopAllReplicasDown"]
        assert not before, "the alert fired before the fault"

        shop.kill()
        fault = timeline.record(
            EventKind.FAULT_START, "kill-every-api-replica", replicas=["shop-1"]
        )
        _, firing = platform.sink.wait_for(
            _named("ShopAllReplicasDown", "firing"),
            timeout_s=DETECT_WITHIN_S + 5,
            after_ms=fault.at_ms,
        )
        detected = next(
            e
            for e in timeline.events(EventKind.ALERT_FIRING)
            if e.name == "ShopAllReplicasDown" and e.at_ms >= fault.at_ms
        )
        ttd_ms = detected.at_ms - fault.at_ms
        timeline.record(EventKind.NOTE, "time-to-detect", alert="ShopAllReplicasDown", ms=ttd_ms)
        assert ttd_ms <= DETECT_WITHIN_S * 1000, f"detected after {ttd_ms} ms"
        assert firing.labels["severity"] == "page"

        shop.start()
        recovered = timeline.record(EventKind.FAULT_END, "kill-every-api-replica")
        shop.reload()  # a restarted container gets a new random host port
        port = shop.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
        _wait_ready(f"http://127.0.0.1:{port}")
        platform.sink.wait_for(
            _named("ShopAllReplicasDown", "resolved"), timeout_s=60, after_ms=recovered.at_ms
        )
    print(f"time to detect ShopAllReplicasDown: {ttd_ms} ms")


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/ready", timeout=2).status_code == httpx.codes.OK:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)  # poll interval of the readiness check
    pytest.fail(f"{base}/ready did not answer 200 within 60 s after the restart")
