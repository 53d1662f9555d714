"""Rendering the one Prometheus and Alertmanager source for a run of the local platform.

The sources in ``platform/observability/`` describe the full stack and production-like
Alertmanager timings. A run gets:

- Prometheus: the same file with only the targets whose component runs (a target down because it
  was never started would fire ``InstanceDown``); a job left without targets is dropped;
- Alertmanager: the local profile's compressed timings (design §3) and every receiver reduced to
  its webhook, sent to the harness's alert sink (there is no SMTP server or Slack here, and a
  receiver failing on purpose would fire ``AlertmanagerNotificationsFailing``).
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from stormcheck.errors import ConfigError
from stormcheck.observability.rules import observability_dir

__all__ = [
    "LOCAL_ROUTE_TIMINGS",
    "alertmanager_source",
    "config_files",
    "prometheus_source",
    "render_alertmanager_config",
    "render_prometheus_config",
    "target_host",
]

LOCAL_ROUTE_TIMINGS: Mapping[str, str] = {
    "group_wait": "5s",
    "group_interval": "10s",
    "repeat_interval": "1h",
}


def prometheus_source(root: Path | None = None) -> Path:
    """``platform/observability/prometheus/prometheus.yml``."""
    return observability_dir(root) / "prometheus" / "prometheus.yml"


def alertmanager_source(root: Path | None = None) -> Path:
    """``platform/observability/alertmanager/alertmanager.yml``."""
    return observability_dir(root) / "alertmanager" / "alertmanager.yml"


def _load(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def target_host(target: str) -> str:
    """The host of a scrape target: ``shop-1:8080`` → ``shop-1``; ``redis://r:6379`` → ``r``."""
    if "://" in target:
        return urlsplit(target).hostname or ""
    return target.rsplit(":", 1)[0]


def _exporter_host(job: Mapping[str, Any]) -> str | None:
    for relabel in job.get("relabel_configs") or []:
        if relabel.get("target_label") == "__address__" and "replacement" in relabel:
            return target_host(str(relabel["replacement"]))
    return None


def _present(host: str, components: Collection[str]) -> bool:
    return host == "localhost" or host in components


def render_prometheus_config(components: Collection[str], source: Path | None = None) -> str:
    """The Prometheus configuration for a run whose components are ``components`` (names)."""
    path = source or prometheus_source()
    config = _load(path)
    jobs = []
    for index, job in enumerate(config.get("scrape_configs") or []):
        where = f"{path}: scrape_configs[{index}]"
        if not isinstance(job, dict) or "job_name" not in job:
            raise ConfigError(f"{where}: expected a mapping with `job_name`")
        exporter = _exporter_host(job)
        if exporter is not None and not _present(exporter, components):
            continue
        statics = []
        for static in job.get("static_configs") or []:
            targets = [t for t in static.get("targets", []) if _present(target_host(t), components)]
            if targets:
                statics.append({**static, "targets": targets})
        if statics:
            jobs.append({**job, "static_configs": statics})
    config["scrape_configs"] = jobs
    alerting = config.get("alerting", {}).get("alertmanagers", [])
    kept = []
    for manager in alerting:
        statics = [
            {**s, "targets": [t for t in s["targets"] if _present(target_host(t), components)]}
            for s in manager.get("static_configs", [])
        ]
        statics = [s for s in statics if s["targets"]]
        if statics:
            kept.append({**manager, "static_configs": statics})
    if kept:
        config["alerting"] = {"alertmanagers": kept}
    else:
        config.pop("alerting", None)
    return yaml.safe_dump(config, sort_keys=False)


def render_alertmanager_config(
    webhook_url: str,
    *,
    source: Path | None = None,
    timings: Mapping[str, str] = LOCAL_ROUTE_TIMINGS,
) -> str:
    """The Alertmanager configuration for the local profile: every receiver → ``webhook_url``."""
    path = source or alertmanager_source()
    config = copy.deepcopy(_load(path))
    route = config.get("route")
    if not isinstance(route, dict):
        raise ConfigError(f"{path}: `route` must be a mapping")
    route.update(timings)
    receivers = config.get("receivers")
    if not isinstance(receivers, list) or not receivers:
        raise ConfigError(f"{path}: `receivers` must be a non-empty list")
    for index, receiver in enumerate(receivers):
        hooks = receiver.get("webhook_configs") or []
        if not hooks:
            raise ConfigError(
                f"{path}: receivers[{index}] ({receiver.get('name')}) has no webhook_configs:"
                " every receiver needs one so that the harness sees what it would deliver"
            )
        kept = {"name": receiver["name"]}
        kept["webhook_configs"] = [{**hook, "url": webhook_url} for hook in hooks]
        receivers[index] = kept
    return yaml.safe_dump(config, sort_keys=False)


def config_files(
    components: Collection[str], webhook_url: str, root: Path | None = None
) -> dict[str, dict[str, bytes]]:
    """What to install in each container: component role → {absolute path: content}."""
    base = observability_dir(root)
    prometheus = {
        "/etc/prometheus/prometheus.yml": render_prometheus_config(
            components, prometheus_source(root)
        ).encode(),
    }
    for rules in sorted((base / "rules").glob("*.rules.yml")):
        prometheus[f"/etc/prometheus/rules/{rules.name}"] = rules.read_bytes()
    alertmanager = {
        "/etc/alertmanager/alertmanager.yml": render_alertmanager_config(
            webhook_url, source=alertmanager_source(root)
        ).encode(),
    }
    for template in sorted((base / "alertmanager" / "templates").glob("*.tmpl")):
        alertmanager[f"/etc/alertmanager/templates/{template.name}"] = template.read_bytes()
    return {"prometheus": prometheus, "alertmanager": alertmanager}
