"""``slo_evaluation``: 20 SLOs over a 1-hour window, from recording rules against raw counters.

A host Prometheus (Debian's package, no Docker) holds 90 minutes of realistic request counters
of 20 services — ``shop_http_requests_total`` by instance, route and status, scraped every 15 s,
with different traffic, error rates, an incident burst and a counter reset in some — backfilled
with ``promtool tsdb create-blocks-from openmetrics``. Twenty OpenSLO documents (one availability
SLO per service) are written to a temporary folder and loaded by the engine; their generated rule
file is evaluated over the data by ``promtool tsdb create-blocks-from rules`` (every 60 s over the
last 30 minutes, on Prometheus' own per-group schedule).

Timed: ``evaluate_all`` of the 20 SLOs over the hour ending at the data's end, (subject) with
``use_recordings=True`` — one sample of ``slo:sli_error:ratio_rate1h`` per SLO — and (baseline)
from the raw counters, as ``evaluate`` does by default. Target: the subject at most 2 s. The
ratio is subject / baseline. Not timed, as a check: every recorded SLI equals the raw counters'
SLI over the window the recording covers (to 1e-9), and no verdict is inconclusive. Also
timed, to read the ratio by: the same number of trivial queries (``vector(1)``, 3 per SLO, as
each side asks), the HTTP and JSON cost neither side can shed.

Results: ``benchmarks/results/<UTC date>-slo_evaluation.json`` (the shape of the others, plus
the target, the data's size and the agreement check).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.record import record
from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.observability.host_prometheus import start_host_prometheus
from stormcheck.slo.evaluate import evaluate, evaluate_all
from stormcheck.slo.loader import read_slos, slo_files
from stormcheck.slo.model import Slo
from stormcheck.slo.rules import render_rule_file
from stormcheck.verdict import Outcome, Verdict, Window

__all__ = ["TARGET_S", "bench_slo_evaluation"]

REPEAT = 9
TARGET_S = 2.0

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z: fixed, far enough in the past for any window
STEP_S = 15
MINUTES = 90
WINDOW_S = 3600
RULES_FROM_S = T0 + (MINUTES - 30) * 60
END_S = T0 + MINUTES * 60

SERVICES = (
    "catalogue", "cart", "checkout", "search", "payments", "inventory", "accounts", "auth",
    "recommendations", "reviews", "shipping", "pricing", "promotions", "notifications",
    "orders", "wishlist", "media", "gateway", "billing", "analytics",
)  # fmt: skip
INSTANCES = ("shop-1", "shop-2", "shop-3")
ROUTES = ("/api/v1/items", "/api/v1/items/{id}", "/health")
# status → share of requests (before a service's own error share is taken from 200)
STATUSES = {"200": 0.93, "201": 0.02, "304": 0.03, "404": 0.015, "429": 0.005, "500": 0.0}
METRIC = "shop_http_requests_total"


def _counter(rng: random.Random, rate: float, burst: range, restart: int | None) -> list[float]:
    """A counter's value at every step: ``rate`` events a second (±20 %), more in ``burst``."""
    value, values = rng.uniform(0, 5000), []
    for step in range(MINUTES * 60 // STEP_S + 1):
        events = rate * STEP_S * rng.uniform(0.8, 1.2)
        if step in burst:
            events += rate * STEP_S * 15
        value = events if step == restart else value + events
        values.append(value)
    return values


def _openmetrics(seed: int = 8) -> tuple[str, int]:
    """The counters of every service as OpenMetrics text, and how many series there are."""
    rng = random.Random(seed)
    lines = [f"# TYPE {METRIC.removesuffix('_total')} counter"]
    series = 0
    steps = MINUTES * 60 // STEP_S
    for index, service in enumerate(SERVICES):
        rps = rng.uniform(5, 120)  # per instance and route
        error_share = (0.0002, 0.002, 0.02)[index % 3]  # against objectives 0.999 and 0.99
        shares = {**STATUSES, "200": STATUSES["200"] - error_share, "500": error_share}
        burst = range(steps // 2, steps // 2 + 40) if index % 5 == 4 else range(0)
        restart = rng.randrange(steps // 3, steps) if index % 4 == 1 else None
        for instance in INSTANCES:
            for route in ROUTES:
                for status, share in shares.items():
                    values = _counter(
                        rng,
                        rps * share,
                        burst if status == "500" else range(0),
                        restart if instance == "shop-2" else None,
                    )
                    labels = (
                        f'instance="{instance}",method="GET",route="{route}",'
                        f'service="{service}",status="{status}"'
                    )
                    lines.extend(
                        f"{METRIC}{{{labels}}} {round(v)} {T0 + i * STEP_S}"
                        for i, v in enumerate(values)
                    )
                    series += 1
    lines.append("# EOF")
    return "\n".join(lines) + "\n", series


def _slo_document(service: str, objective: float) -> str:
    selector = f'{METRIC}{{service="{service}",route!="/health"'
    return f"""\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: {service}-availability
spec:
  description: Share of {service} API requests answered without a server error.
  service: {service}
  budgetingMethod: Occurrences
  timeWindow:
    - duration: 30d
      isRolling: true
  objectives:
    - target: {objective}
  indicator:
    metadata:
      name: {service}-availability-ratio
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Prometheus
            spec:
              query: '{selector},status!~"5.."}}'
        total:
          metricSource:
            type: Prometheus
            spec:
              query: '{selector}}}'
"""


def _write_slos(folder: Path) -> tuple[Slo, ...]:
    slo_dir = folder / "slo"
    slo_dir.mkdir()
    for index, service in enumerate(SERVICES):
        objective = 0.999 if index % 2 else 0.99
        (slo_dir / f"{service}.yaml").write_text(
            _slo_document(service, objective), encoding="utf-8"
        )
    return read_slos(slo_files([slo_dir]))


def _timed(action: Callable[[], list[Verdict]]) -> tuple[float, list[Verdict]]:
    started = time.perf_counter()
    verdicts = action()
    return time.perf_counter() - started, verdicts


def _agreement(
    slos: tuple[Slo, ...], recorded: list[Verdict], client: PrometheusClient
) -> tuple[float, list[str]]:
    """The largest |SLI difference| between each recording and the counters over its window."""
    largest, problems = 0.0, []
    for slo, verdict in zip(slos, recorded, strict=True):
        (evidence,) = verdict.evidence
        if "recorded_series" not in evidence.details or evidence.window is None:
            problems.append(f"{slo.name}: not read from a recording: {verdict.reason}")
            continue
        raw = evaluate(slo, evidence.window, client)
        if evidence.observed is None or raw.evidence[0].observed is None:
            problems.append(f"{slo.name}: no SLI: {verdict.reason} / {raw.reason}")
            continue
        largest = max(largest, abs(evidence.observed - raw.evidence[0].observed))
    return largest, problems


def bench_slo_evaluation() -> None:
    """Median evaluation of 20 SLOs over 1 h, recorded vs raw; writes the result file."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-slo-") as tmp:
        folder = Path(tmp)
        slos = _write_slos(folder)
        text, series = _openmetrics()
        running = start_host_prometheus(
            text,
            folder,
            recording_rules=render_rule_file(slos),
            rules_span=(RULES_FROM_S, END_S),
        )
        prepared_s = time.monotonic() - started
        try:
            with PrometheusClient(running.url, timeout=30) as client:
                version = client.build_info()["version"]
                window = Window((END_S - WINDOW_S) * 1000, END_S * 1000)

                def raw() -> list[Verdict]:
                    return evaluate_all(slos, window, client)

                def recorded() -> list[Verdict]:
                    return evaluate_all(slos, window, client, use_recordings=True)

                def floor() -> list[Verdict]:
                    for _ in range(3 * len(slos)):  # each side asks 3 queries per SLO
                        client.query_vector("vector(1)", END_S)
                    return []

                _, raw_verdicts = _timed(raw)  # warm-up: the page cache and the query path
                _, recorded_verdicts = _timed(recorded)
                subject: list[float] = []
                baseline: list[float] = []
                floors: list[float] = []
                for _ in range(REPEAT):
                    baseline.append(_timed(raw)[0])
                    subject.append(_timed(recorded)[0])
                    floors.append(_timed(floor)[0])
                largest_diff, problems = _agreement(slos, recorded_verdicts, client)
        finally:
            running.stop()
    undecided = [
        v.name for v in raw_verdicts + recorded_verdicts if v.outcome is Outcome.INCONCLUSIVE
    ]
    if problems or undecided or largest_diff > 1e-9:
        raise RuntimeError(
            f"the two paths disagree or could not measure: {problems or undecided},"
            f" largest SLI difference {largest_diff:g}"
        )
    median = statistics.median(subject)
    record(
        "slo_evaluation",
        subject,
        baseline,
        f"evaluate_all of {len(slos)} availability SLOs over a 1 h window on a host"
        f" Prometheus {version}: subject from the recorded slo:sli_error:ratio_rate1h"
        f" (use_recordings=True), baseline from the raw counters ({series} series of"
        f" {METRIC}, {STEP_S} s apart); ratio = subject / baseline (target <= {TARGET_S:g} s)",
        summary=f"target {TARGET_S:g} s",
        target_s=TARGET_S,
        within_target=median <= TARGET_S,
        slos=len(slos),
        raw_series=series,
        raw_samples_in_window=series * (WINDOW_S // STEP_S + 1),
        outcomes={
            outcome.value: sum(v.outcome is outcome for v in recorded_verdicts)
            for outcome in Outcome
        },
        largest_sli_difference=largest_diff,
        round_trip_floor_s=statistics.median(floors),
        setup_s=round(prepared_s, 1),
    )


if __name__ == "__main__":
    bench_slo_evaluation()
