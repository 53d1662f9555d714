"""Negative controls: a sabotaged platform variant must turn the judge's verdict to fail.

A judge that never fails proves nothing. Each control removes one protection the platform relies
on (:mod:`stormcheck.local.variants`), runs the fault that protection is there for, under load
through the load runner and its request log, and judges the outcome: on the sabotaged variant the
verdict is ``fail`` or integrity is violated; on the safe variant of the same throwaway set-up it
is within expectations (the flip). Every variant runs on a database or a stack of its own, never
the session's shared one (duplicate orders would poison it).

- idempotency (tier 1): the shop as a host process on a fresh database whose idempotency
  constraint no longer covers the key, its database link slowed by Toxiproxy so checkouts outlast
  the client's 5 s timeout: the client's retry with the same key races its own first attempt.
  With the constraint, the retry waits for the first attempt and replays its order; without it,
  the key gets a second order and the integrity verdict fails.
- ingress health checks off (nightly): ``replica_paused`` on a full stack (without its log store) whose ingress checks
  nothing keeps sending a third of the traffic to a hung replica.
- the shop's bounded database waits off (nightly): ``postgres_blackholed`` on a full stack
  whose shop waits for ever. The blackhole keeps TCP healthy, so only the shop's own reply
  deadline, connect and pool timeouts notice it: the safe shop answers 503 at once and counts
  each failed database call, so the alert naming PostgreSQL (``ShopDependencyErrors``) fires
  within the row's ``detect_s``; without them the shop hangs silently, counts nothing, and that
  alert never fires (``detect``). Both are down at the ingress during the fault (its ``/ready``
  check needs PostgreSQL), and Toxiproxy closes the blackholed connections when the toxic goes,
  so the hung shop is not slower to recover.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from stormcheck.chaos.experiment import background_load, run_experiment_file
from stormcheck.clients.toxiproxy import ToxiproxyClient
from stormcheck.judge import Check, ResilienceResult, judge_on_run, read_expectations
from stormcheck.load.integrity import judge_checkout_integrity
from stormcheck.load.request_records import RequestRecord, read_request_log
from stormcheck.load.runner import LoadPlan, run_load
from stormcheck.load.scenarios import scenario
from stormcheck.load.thresholds import Thresholds
from stormcheck.local.delivery import host_sink
from stormcheck.local.engine import connect
from stormcheck.local.logstore import LOG_ROLES
from stormcheck.local.session import bring_down, bring_up, runs_dir
from stormcheck.local.stacks import STACK_COMPONENTS
from stormcheck.local.variants import Variant, sabotage_database
from stormcheck.paths import project_root
from stormcheck.settings import Settings
from stormcheck.verdict import Outcome, Verdict
from suites.shop.databases import with_host_port
from suites.shop.shop_process import ShopProcess, migrated_database

# --- idempotency: the shop as a host process on a throwaway database ------------------------

# Each reply from PostgreSQL is held this long: a checkout (about ten round trips) then takes
# ~8 s, past the load client's 5 s timeout, while every single statement stays far inside the
# shop's own bounds (statement timeout 2 s + grace 1 s), which are not what is tested here.
DB_LATENCY_MS = 800
RATE = 10.0  # arrivals per second; one in fifteen is a checkout
LOAD_S = 25.0
# The shop's pool is opened in full before the fault and holds every slow connection the load
# keeps busy (~20): with each reply held, a new connection (a few round trips of authentication)
# would outlast the connect timeout, and pool waits are not what is tested here.
POOL_SIZE = 30
POOL_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 60.0


def _gauge(shop: ShopProcess, prefix: str) -> float:
    """The sum of the shop's samples whose line starts with ``prefix``."""
    text = httpx.get(shop.url + "/metrics", timeout=5).text
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix)]
    assert values, f"the shop exports no {prefix}"
    return sum(values)


def _in_flight(shop: ShopProcess) -> float:
    return _gauge(shop, "shop_http_requests_in_flight ")


def _wait_pool_full(shop: ShopProcess) -> None:
    give_up = time.monotonic() + POOL_TIMEOUT_S
    while (opened := _gauge(shop, "shop_db_pool_connections{")) < POOL_SIZE:
        assert time.monotonic() < give_up, f"the shop's pool opened {opened:g}/{POOL_SIZE}"
        time.sleep(0.2)


def _wait_drained(shop: ShopProcess) -> None:
    """Wait until only the /metrics request itself is in flight: every first attempt that the
    client gave up on has committed or rolled back before the orders are counted."""
    give_up = time.monotonic() + DRAIN_TIMEOUT_S
    while (busy := _in_flight(shop)) > 1:
        assert time.monotonic() < give_up, f"{busy:g} requests still in flight after the load"
        time.sleep(0.5)


@dataclasses.dataclass(frozen=True)
class CheckoutControl:
    verdict: Verdict
    records: list[RequestRecord]
    request_log: Path

    @property
    def successes(self) -> int:
        return int(self.verdict.evidence[0].details["definitive_successes"])

    @property
    def retried_keys(self) -> int:
        return len({r.checkout.key for r in self.records if r.checkout and r.checkout.attempt > 1})

    def explain(self) -> str:
        return f"{self.verdict.explain()}; {self.retried_keys} keys retried; log {self.request_log}"

    def exercised(self) -> str | None:
        """Why the control proves nothing (the fault missed, or no checkout got through)."""
        if not self.verdict.evidence:
            return f"no integrity evidence; {self.explain()}"
        if not self.retried_keys:
            return f"no checkout was retried: the fault missed; {self.explain()}"
        if not self.successes:
            return f"no checkout succeeded: nothing to judge; {self.explain()}"
        return None


def _checkout_under_slow_database(
    variant: Variant,
    *,
    shop_python: str,
    postgres_dsn: str,
    redis_url: str,
    toxiproxy: ToxiproxyClient,
    tmp_path: Path,
) -> CheckoutControl:
    with migrated_database(shop_python, postgres_dsn, redis_url) as dsn:
        if variant is Variant.NO_IDEMPOTENCY_CONSTRAINT:
            sabotage_database(dsn)
        parts = urlsplit(dsn)
        proxy = toxiproxy.create_proxy(
            f"control-{uuid.uuid4().hex[:8]}", upstream=f"{parts.hostname}:{parts.port}"
        )
        via_proxy = with_host_port(dsn, proxy.host, proxy.port)
        with ShopProcess(
            shop_python,
            via_proxy,
            redis_url,
            SHOP_MIGRATE="0",
            SHOP_DB_POOL_MIN=str(POOL_SIZE),
            SHOP_DB_POOL_MAX=str(POOL_SIZE),
            SHOP_LOG_LEVEL="INFO",
        ) as shop:
            _wait_pool_full(shop)
            toxic = toxiproxy.add_toxic(proxy.name, "latency", {"latency": DB_LATENCY_MS})
            try:
                plan = LoadPlan(
                    scenario=scenario("shop-open"),
                    host=shop.url,
                    duration_s=LOAD_S,
                    rate=RATE,
                    # the platform is meant to suffer; the integrity verdict is the judgement
                    thresholds=Thresholds(max_error_ratio=1.0, p95_ms=None, p99_ms=None),
                )
                result = run_load(plan, tmp_path / "load")
            finally:
                toxiproxy.remove_toxic(proxy.name, toxic.name)
            _wait_drained(shop)
        records = read_request_log(result.request_log)
        return CheckoutControl(
            verdict=judge_checkout_integrity(records, dsn),
            records=records,
            request_log=result.request_log,
        )


@pytest.mark.integration
def test_checkout_without_the_idempotency_constraint_violates_integrity(
    shop_python: str,
    postgres_dsn: str,
    redis_url: str,
    toxiproxy: ToxiproxyClient,
    tmp_path: Path,
) -> None:
    control = _checkout_under_slow_database(
        Variant.NO_IDEMPOTENCY_CONSTRAINT,
        shop_python=shop_python,
        postgres_dsn=postgres_dsn,
        redis_url=redis_url,
        toxiproxy=toxiproxy,
        tmp_path=tmp_path,
    )
    assert control.exercised() is None, control.exercised()
    assert control.verdict.outcome is Outcome.FAIL, control.explain()
    duplicated = control.verdict.evidence[0].details["keys_with_several_orders"]
    assert duplicated, f"integrity failed, but not for duplicate orders; {control.explain()}"


@pytest.mark.catalogue
def test_checkout_with_the_idempotency_constraint_keeps_integrity(
    shop_python: str,
    postgres_dsn: str,
    redis_url: str,
    toxiproxy: ToxiproxyClient,
    tmp_path: Path,
) -> None:
    control = _checkout_under_slow_database(
        Variant.SAFE,
        shop_python=shop_python,
        postgres_dsn=postgres_dsn,
        redis_url=redis_url,
        toxiproxy=toxiproxy,
        tmp_path=tmp_path,
    )
    assert control.exercised() is None, control.exercised()
    assert control.verdict.outcome is Outcome.PASS, control.explain()


# --- full-stack controls: a throwaway full stack per variant, judged against the row --------

FULL_RATE = 10.0  # arrivals per second through the ingress, a modest share of its capacity
# postgres_blackholed is detected by the rate of the shop's failed database calls (>0.5/s over
# 30 s), and the safe shop fails only the requests it gets in the ~4 s before the ingress takes
# its replicas out: at 10/s that was 16-20 requests, just over the alert's 15; twice the rate
# gives the safe half a margin (the unbounded shop fails none: its requests hang, then succeed).
CONTROL_RATES = {"postgres_blackholed": 20.0}
# The full stack without its log store: these rows judge no log SLO, and OpenSearch's JVM is the
# slowest start of the stack (it missed its 120 s readiness limit twice on a loaded machine).
CONTROL_COMPONENTS = tuple(c for c in STACK_COMPONENTS["full"] if c not in LOG_ROLES)
LOAD_LEAD_S = 10.0  # the load reaches its rate before the steady state is probed


@pytest.fixture
def throwaway_full(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The full-stack settings; each control brings up (and down) its own run of the variant."""
    # the experiment's activities find the run in the same runs folder
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(runs_dir(settings)))
    return dataclasses.replace(settings, stack="full")


def _judged_on_variant(settings: Settings, variant: Variant, experiment: str) -> ResilienceResult:
    row = read_expectations().row(experiment)
    folder, _ = bring_up(settings, owner="process", variant=variant, only=CONTROL_COMPONENTS)
    try:
        with ExitStack() as stack:
            client = connect()
            stack.callback(client.close)
            sink = host_sink(client, folder)
            stack.callback(sink.stop)
            stack.enter_context(
                background_load(
                    folder,
                    "shop-open",
                    rate=CONTROL_RATES.get(experiment, FULL_RATE),
                    users=1,
                    progress=print,
                )
            )
            time.sleep(LOAD_LEAD_S)
            result = run_experiment_file(
                project_root() / "experiments" / "local" / f"{experiment}.yaml",
                folder,
                settings,
                progress=print,
            )
        return judge_on_run(folder, result, row)
    finally:
        bring_down(settings, folder)


def _explain(judged: ResilienceResult) -> str:
    return judged.explain()


# (variant, experiment, the check the sabotage must turn: failed on it, met on the safe stack;
# None: only the row as a whole)
FULL_CONTROLS = [
    pytest.param(Variant.INGRESS_UNCHECKED, "replica_paused", "recover", id="ingress-unchecked"),
    pytest.param(
        Variant.UNBOUNDED_DB_WAITS, "postgres_blackholed", "detect", id="unbounded-db-waits"
    ),
]


def _check(judged: ResilienceResult, suffix: str) -> Check:
    found = [c for c in judged.checks if c.verdict.name.endswith(f"/{suffix}")]
    assert found, f"no check {suffix!r} in {_explain(judged)}"
    return found[0]


@pytest.mark.catalogue
@pytest.mark.parametrize(("variant", "experiment", "decisive"), FULL_CONTROLS)
def test_a_sabotaged_full_stack_misses_its_row(
    throwaway_full: Settings, variant: Variant, experiment: str, decisive: str | None
) -> None:
    sabotaged = _judged_on_variant(throwaway_full, variant, experiment)
    print(f"{variant}: {_explain(sabotaged)}")
    assert not sabotaged.met, f"{variant} met {experiment}'s row: {_explain(sabotaged)}"
    # missed for a definitive verdict, not because something could not be measured
    definitive = [c for c in sabotaged.missed() if c.verdict.outcome is not Outcome.INCONCLUSIVE]
    assert definitive, f"{variant}: only inconclusive misses: {_explain(sabotaged)}"
    if decisive is not None:
        assert _check(sabotaged, decisive).verdict.outcome is Outcome.FAIL, _explain(sabotaged)


@pytest.mark.catalogue
@pytest.mark.parametrize(("variant", "experiment", "decisive"), FULL_CONTROLS)
def test_the_safe_full_stack_meets_the_same_row(
    throwaway_full: Settings, variant: Variant, experiment: str, decisive: str | None
) -> None:
    """The other half of the flip: the same throwaway set-up, safe, meets the row."""
    safe = _judged_on_variant(throwaway_full, Variant.SAFE, experiment)
    print(f"safe ({variant} control): {_explain(safe)}")
    if decisive is not None:
        assert _check(safe, decisive).met, _explain(safe)
    assert safe.met, f"the safe platform missed {experiment}'s row: {_explain(safe)}"
