"""The alert sink records what it receives on the timeline; the clients fail loudly and by name."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from stormcheck.clients.alertmanager import AlertmanagerClient
from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.errors import BackendError, ConfigError
from stormcheck.observability.config import render_prometheus_config, target_host
from stormcheck.observability.rules import metric_names
from stormcheck.observability.sink import AlertSink, parse_time_ms
from stormcheck.timeline import EventKind, Timeline

pytestmark = pytest.mark.unit

NOTIFICATION = {
    "version": "4",
    "receiver": "page",
    "status": "firing",
    "groupKey": '{}/{severity="page"}:{alertname="ShopAllReplicasDown"}',
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "ShopAllReplicasDown", "severity": "page"},
            "annotations": {"summary": "down"},
            "startsAt": "2026-11-26T13:31:23.081123456Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "2721bff65b8e2456",
        },
        {
            "status": "resolved",
            "labels": {"alertname": "InstanceDown", "severity": "ticket", "job": "shop"},
            "startsAt": "2026-11-26T13:30:00Z",
            "endsAt": "2026-11-26T13:31:00.5+00:00",
        },
    ],
}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_sink_records_each_alert_of_a_real_http_notification(tmp_path: Path) -> None:
    timeline = Timeline(tmp_path / "timeline.jsonl")
    with AlertSink(timeline) as sink:
        answer = httpx.post(sink.url, content=json.dumps(NOTIFICATION), timeout=5)
        assert answer.status_code == 200, answer.text
        bad = httpx.post(sink.url, content=b"{not json", timeout=5)
        assert bad.status_code == 400 and "not JSON" in bad.text
        elsewhere = httpx.post(sink.url.replace("/alerts", "/other"), content=b"{}", timeout=5)
        assert elsewhere.status_code == 404
        (received,) = sink.notifications
    firing, resolved = timeline.events()
    assert (firing.kind, firing.name) == (EventKind.ALERT_FIRING, "ShopAllReplicasDown")
    assert (resolved.kind, resolved.name) == (EventKind.ALERT_RESOLVED, "InstanceDown")
    assert firing.at_ms == resolved.at_ms == received.received_ms
    assert firing.attrs["starts_at_ms"] == 1795699883081
    assert firing.attrs["ends_at_ms"] is None
    assert resolved.attrs["ends_at_ms"] == 1795699860500
    assert firing.attrs["receiver"] == "page" and firing.attrs["severity"] == "page"


def test_waiting_for_an_alert_that_never_comes_is_an_error_naming_what_came(tmp_path: Path) -> None:
    with AlertSink(None) as sink:
        sink.receive(json.dumps(NOTIFICATION).encode())
        with pytest.raises(
            BackendError, match=r"no matching alert within 0.2 s.*ShopAllReplicasDown:firing"
        ):
            sink.wait_for(lambda a: a.name == "Nope", timeout_s=0.2)
        _, alert = sink.wait_for(lambda a: a.status == "resolved", timeout_s=0.2)
        assert alert.name == "InstanceDown"


@pytest.mark.parametrize("text", ["yesterday", "2026-13-40T00:00:00Z"])
def test_a_bad_alertmanager_time_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="RFC 3339"):
        parse_time_ms(text)


def test_an_unreachable_prometheus_is_a_backend_error_naming_its_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with PrometheusClient(url, timeout=2) as client, pytest.raises(BackendError, match=url):
        client.query("up")


def test_an_unreachable_alertmanager_is_a_backend_error_naming_its_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with AlertmanagerClient(url, timeout=2) as client:
        assert client.ready() is False
        for call in (client.alerts, client.silences, lambda: client.fire({"alertname": "x"})):
            with pytest.raises(BackendError, match=url):
                call()


def test_an_alertmanager_error_answer_is_a_backend_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(400, text="bad matchers"))
    with (
        AlertmanagerClient("http://am.test", transport=transport) as client,
        pytest.raises(BackendError, match=r"create silence answered HTTP 400: 'bad matchers'"),
    ):
        client.silence(
            {"a": "b"},
            duration=timedelta(minutes=1),
            created_by="t",
            comment="c",
        )


def test_metric_names_come_from_parsing_through_functions_and_operators() -> None:
    expr = (
        'sum(rate(a_total{x="1"}[30s])) / ignoring(y) b offset 1m'
        " or absent(c) or histogram_quantile(0.9, sum by (le) (rate(d_bucket[1m])))"
        ' or {__name__="e"} or max_over_time(f[5m:10s])'
    )
    assert metric_names(expr) == {"a_total", "b", "c", "d_bucket", "e", "f"}
    with pytest.raises(ConfigError, match="not PromQL"):
        metric_names("sum(")


def test_the_rendered_prometheus_configuration_keeps_only_running_targets() -> None:
    import yaml

    config = yaml.safe_load(render_prometheus_config({"shop-1", "redis", "redis-exporter"}))
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert set(jobs) == {"prometheus", "shop", "redis"}
    assert jobs["shop"]["static_configs"][0]["targets"] == ["shop-1:8080"]
    assert jobs["redis"]["static_configs"][0]["targets"] == ["redis://redis:6379"]
    assert "alerting" not in config  # no Alertmanager in this run
    assert target_host("redis://redis-2:6379") == "redis-2"
