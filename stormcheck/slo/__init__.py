"""SLOs: OpenSLO v1 definitions, Prometheus rules generated from them, and verdicts over windows.

* :mod:`~stormcheck.slo.model` — the :class:`Slo` and its ratio SLI over Prometheus counters;
* :mod:`~stormcheck.slo.log_sli` — a ratio SLI over log lines, answered by the log store;
* :mod:`~stormcheck.slo.loader` — OpenSLO YAML → SLOs, with located errors;
* :mod:`~stormcheck.slo.budget` — budget spent, burn rates, burn-rate alert thresholds;
* :mod:`~stormcheck.slo.rules` — recording rules and multi-window multi-burn-rate alerts;
* :mod:`~stormcheck.slo.evaluate` — ``evaluate(slo, window, client, logs=...)`` → :class:`Verdict`
  (log-based SLOs through :mod:`~stormcheck.slo.log_evaluate`; both judged by
  :mod:`~stormcheck.slo.judge`; ``use_recordings=True`` reads recorded error ratios instead of
  raw counters where the SLO's recording rules cover the window);
* :mod:`~stormcheck.slo.run_verdicts` — a gate's verdicts merged into a run's ``verdicts.json``;
* :mod:`~stormcheck.slo.joint` — two backends' counts of the same window must agree;
* :mod:`~stormcheck.slo.assertions` — ``assert_met`` for tests.
"""

from __future__ import annotations

from stormcheck.slo.assertions import assert_met
from stormcheck.slo.budget import DEFAULT_BURN_ALERTS, BurnRateAlert, budget_spent, burn_rate
from stormcheck.slo.evaluate import evaluate, evaluate_all, gate_verdict
from stormcheck.slo.loader import read_slo_files, read_slos, slo_files
from stormcheck.slo.model import RatioSli, Slo
from stormcheck.slo.rules import render_rule_file, rule_groups

__all__ = [
    "DEFAULT_BURN_ALERTS",
    "BurnRateAlert",
    "RatioSli",
    "Slo",
    "assert_met",
    "budget_spent",
    "burn_rate",
    "evaluate",
    "evaluate_all",
    "gate_verdict",
    "read_slo_files",
    "read_slos",
    "render_rule_file",
    "rule_groups",
    "slo_files",
]
