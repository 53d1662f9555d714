"""Judging an experiment against the run it ran on: the backends opened from the run's manifest.

:func:`judge_on_run` is :func:`~stormcheck.judge.result.judge_experiment` with Prometheus, the
log store and the database (for integrity) of the run in ``folder``, each only when the run has
that component; the clients are closed afterwards.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from stormcheck.chaos.experiment import ExperimentRun
from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.judge.expectations import Expectations, Row
from stormcheck.judge.result import ResilienceResult, judge_experiment
from stormcheck.load.integrity import OrdersLookup, orders_in
from stormcheck.runs import RunFolder

if TYPE_CHECKING:
    from stormcheck.logstore.store import LogStore

__all__ = ["judge_on_run", "orders_of_run"]


def orders_of_run(folder: RunFolder) -> OrdersLookup | None:
    """The orders lookup of the run's database (through the data router where there is one)."""
    manifest = folder.read_manifest()
    for component in ("dbproxy", "postgres"):
        if component in manifest.components:
            return orders_in(manifest.endpoint(component, "postgres"))
    return None


def judge_on_run(
    folder: RunFolder,
    result: ExperimentRun,
    row: Row,
    *,
    expectations: Expectations | None = None,
    write: bool = True,
    **options: Any,
) -> ResilienceResult:
    """Judge ``result`` with the backends of the run in ``folder`` (see the module)."""
    from stormcheck.logstore.opensearch_backend import OpenSearchStore

    manifest = folder.read_manifest()
    with ExitStack() as stack:
        prometheus = None
        if "prometheus" in manifest.components:
            prometheus = stack.enter_context(PrometheusClient(manifest.endpoint("prometheus")))
        logs: dict[str, LogStore] = {}
        if "opensearch" in manifest.components:
            store = OpenSearchStore(manifest.endpoint("opensearch"))
            stack.callback(store.close)
            logs["opensearch"] = store
        return judge_experiment(
            folder,
            result,
            row,
            expectations=expectations,
            prometheus=prometheus,
            logs=logs,
            orders=orders_of_run(folder),
            write=write,
            **options,
        )
