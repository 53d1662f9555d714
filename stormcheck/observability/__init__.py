"""Metrics and alerts: the rule files as data, the configuration rendered for a run, and the
alert sink that receives notifications.

Modules: ``rules`` (rule files, metric names parsed from PromQL), ``inventory`` (every metric the
rules, dashboards and SLOs read), ``config`` (Prometheus/Alertmanager configuration for a run),
``sink``. No Docker here: the local platform's monitoring containers and the installation of their
configuration live in :mod:`stormcheck.local.monitoring` and :mod:`stormcheck.local.delivery`.
"""

from __future__ import annotations

__all__: list[str] = []
