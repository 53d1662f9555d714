"""OpenSLO documents for tests, written as a user would write them."""

from __future__ import annotations

from pathlib import Path

from stormcheck.slo.loader import read_slos
from stormcheck.slo.model import Slo


def slo_document(
    name: str,
    good: str,
    total: str,
    *,
    target: float = 0.99,
    period: str = "1d",
    service: str = "shop",
) -> str:
    """One ``kind: SLO`` document with a ratio indicator."""
    return f"""\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: {name}
spec:
  service: {service}
  budgetingMethod: Occurrences
  timeWindow:
    - duration: {period}
      isRolling: true
  objectives:
    - target: {target}
  indicator:
    metadata:
      name: {name}-ratio
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Prometheus
            spec:
              query: '{good}'
        total:
          metricSource:
            type: Prometheus
            spec:
              query: '{total}'
"""


def load_one(folder: Path, document: str, *, check_promql: bool = False) -> Slo:
    """Write ``document`` under ``folder`` and load it through the real loader."""
    path = folder / "slo.yaml"
    path.write_text(document, encoding="utf-8")
    (slo,) = read_slos([path], check_promql=check_promql)
    return slo


LOG_FILTERS = (
    "service: shop\n                logger: shop.access\n                route: /api/v1/orders"
)


def log_slo_document(
    name: str,
    *,
    index: str = "logs-*",
    target: float = 0.999,
    period: str = "30d",
    source: str = "OpenSearch",
    good_status: str = "status: {gte: 100, lt: 500}",
) -> str:
    """One ``kind: SLO`` document whose good/total are log-store selections (the shop's lines)."""
    return f"""\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: {name}
spec:
  service: checkout
  budgetingMethod: Occurrences
  timeWindow:
    - duration: {period}
      isRolling: true
  objectives:
    - target: {target}
  indicator:
    metadata:
      name: {name}-ratio
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: {source}
            spec:
              index: '{index}'
              filters:
                {LOG_FILTERS}
              {good_status}
        total:
          metricSource:
            type: {source}
            spec:
              index: '{index}'
              filters:
                {LOG_FILTERS}
"""
