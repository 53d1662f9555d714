"""Metrics and alerts: the rule files as data, the configuration rendered for a run, the
observability components of the local platform, and the alert sink that receives notifications.

Modules: ``rules`` (rule files, metric names parsed from PromQL), ``inventory`` (every metric the
rules, dashboards and SLOs read), ``config`` (Prometheus/Alertmanager configuration for a run),
``components`` (Alertmanager, exporters, Prometheus; installing their configuration), ``sink``.
"""

from __future__ import annotations

__all__: list[str] = []
