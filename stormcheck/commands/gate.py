"""``stormcheck gate``: the pre-release SLO gate. Exit 0 all pass, 1 a fail, 2 inconclusive.

Prometheus is the setting ``prometheus_url`` (``STORMCHECK_PROMETHEUS_URL``), else the one of the
run (``--run``, default: the one run that is up). Log-based SLOs are counted by the log store:
the setting ``logstore_url`` (``STORMCHECK_LOGSTORE_URL``), else the run's OpenSearch node. Each
backend is looked up only when a selected SLO needs it. An unreachable backend, no data, a stale
log store or a query error make a verdict inconclusive — exit 2 unless
``--allow-inconclusive`` — never 0.

A window that ends now is judged on complete data: before evaluating, the gate waits (at most
``--coverage-timeout`` seconds) until Prometheus and the log store hold data at or after the
window's end (:mod:`stormcheck.slo.coverage`); what is still short after that is inconclusive.
``--window A..B`` takes RFC 3339, epoch seconds (10 digits) or epoch milliseconds (13 digits);
a window before 2000 or in the future is an error (exit 3), not an inconclusive verdict.

With ``--run RUN`` the verdicts (and the gate's own) are merged by name into the run's
``verdicts.json`` and a ``verdict`` event goes on its timeline (:mod:`stormcheck.slo.run_verdicts`).

A run that is no longer up is judged on the evidence it kept before ``down``
(:mod:`stormcheck.reports.retention`): a host Prometheus on its TSDB snapshot and, for log-based
SLOs, an OpenSearch node loaded with its log documents. The default window is then the whole
retained range; a window outside it is refused at once (exit 3), since no more data will come.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.commands import CliState, pass_state
from stormcheck.commands.slo import default_slo_dir
from stormcheck.errors import ConfigError, RunNotFoundError
from stormcheck.paths import project_root
from stormcheck.runs import RunFolder, find_run
from stormcheck.settings import Settings
from stormcheck.slo.coverage import DEFAULT_COVERAGE_TIMEOUT_S, DataKind, await_coverage
from stormcheck.slo.evaluate import DEFAULT_MAX_STALENESS_S, evaluate_all, gate_verdict
from stormcheck.slo.loader import read_slos, slo_files
from stormcheck.slo.log_sli import LogRatioSli
from stormcheck.slo.model import Slo
from stormcheck.slo.run_verdicts import record_gate
from stormcheck.slo.window import parse_window, window_since
from stormcheck.verdict import Window, gate_exit_code

if TYPE_CHECKING:
    from stormcheck.logstore.store import LogStore
    from stormcheck.verdict import Verdict

__all__ = ["COMMANDS", "logstore_url", "prometheus_url"]


def _run_folder(settings: Settings, run_id: str | None) -> RunFolder:
    runs = (
        settings.runs_dir if settings.runs_dir.is_absolute() else project_root() / settings.runs_dir
    )
    return find_run(runs, run_id)


def prometheus_url(settings: Settings, run_id: str | None) -> str:
    """The setting ``prometheus_url``, else the Prometheus endpoint in the run's file."""
    if settings.prometheus_url and run_id is None:
        return settings.prometheus_url
    manifest = _run_folder(settings, run_id).read_manifest()
    try:
        return manifest.endpoint("prometheus")
    except RunNotFoundError:
        raise ConfigError(
            f"run {manifest.run_id} has no Prometheus endpoint; set STORMCHECK_PROMETHEUS_URL"
        ) from None


def logstore_url(settings: Settings, run_id: str | None) -> str:
    """The setting ``logstore_url``, else the OpenSearch endpoint in the run's file."""
    if settings.logstore_url and run_id is None:
        return settings.logstore_url
    manifest = _run_folder(settings, run_id).read_manifest()
    try:
        return manifest.endpoint("opensearch")
    except RunNotFoundError:
        raise ConfigError(
            f"run {manifest.run_id} has no log store (OpenSearch); set STORMCHECK_LOGSTORE_URL"
        ) from None


def _log_stores(
    settings: Settings, run_id: str | None, slos: tuple[Slo, ...]
) -> dict[str, LogStore]:
    """A store per backend the log-based SLOs need; none (so they are inconclusive) if unknown."""
    backends = sorted({s.sli.backend for s in slos if isinstance(s.sli, LogRatioSli)})
    if not backends:
        return {}
    try:
        url = logstore_url(settings, run_id)
    except (ConfigError, RunNotFoundError) as exc:
        click.echo(f"note: log-based SLOs cannot be counted: {exc}", err=True)
        return {}
    # imported here: the search clients cost ~1.5 s of every CLI start otherwise
    from stormcheck.logstore.backends import connect

    return {backend: connect(backend, url) for backend in backends}


def _select(slos: tuple[Slo, ...], names: tuple[str, ...]) -> tuple[Slo, ...]:
    if not names:
        return slos
    by_name = {s.name: s for s in slos}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ConfigError(
            f"unknown SLO(s) {', '.join(unknown)}; known: {', '.join(sorted(by_name))}"
        )
    return tuple(by_name[n] for n in dict.fromkeys(names))


def _await(
    slos: tuple[Slo, ...],
    window: Window,
    client: PrometheusClient | None,
    stores: dict[str, LogStore],
    timeout_s: float,
) -> None:
    """Wait until the live backends cover the window's end; say so on stderr."""
    for coverage in await_coverage(
        slos, window, client, stores, kind=DataKind.LIVE, timeout_s=timeout_s
    ):
        click.echo(f"coverage: {coverage.describe(window)}", err=True)


def _judge_retained(
    settings: Settings,
    folder: RunFolder,
    slos: tuple[Slo, ...],
    *,
    window_text: str | None,
    since: str | None,
    max_staleness: float,
) -> tuple[Window, list[Verdict], str | None, dict[str, LogStore]]:
    """Evaluate ``slos`` on the evidence the (down) run in ``folder`` kept; see the module doc."""
    from stormcheck.reports.retention import read_evidence, serve_evidence

    evidence = read_evidence(folder)
    metrics = any(not s.is_log_based for s in slos)
    backends = tuple(sorted({s.sli.backend for s in slos if isinstance(s.sli, LogRatioSli)}))
    if window_text:
        window = parse_window(window_text)
    elif since:
        window = window_since(since)
    else:
        window = evidence.window(metrics=metrics, logs=bool(backends))
    evidence.check_window(window, metrics=metrics, logs=bool(backends))

    def echo(line: str) -> None:
        click.echo(line, err=True)

    echo(f"run {folder.run_id} is down: judging its retained evidence ({evidence.root})")
    for part in (evidence.prometheus, evidence.logs):
        if part.retained:
            echo(f"coverage: retained {part.describe()}")
    for part in evidence.missing(metrics=metrics, logs=bool(backends)):
        echo(f"note: not retained, its SLOs are inconclusive: {part.describe()}")
    with serve_evidence(
        evidence, settings, metrics=metrics, log_backends=backends, progress=echo
    ) as served:
        url = served.prometheus_url
        client = PrometheusClient(url) if url is not None else None
        try:
            # The range check above is the retained data's coverage: every retained part covers
            # the window (a series that has no sample there is inconclusive, as on a live run).
            verdicts = evaluate_all(
                slos, window, client, logs=served.stores, max_staleness_s=max_staleness
            )
        finally:
            if client is not None:
                client.close()
        stores = dict(served.stores)
    return window, verdicts, url, stores


@click.command()
@click.option("--slo", "names", multiple=True, metavar="NAME", help="Only these SLOs (repeatable).")
@click.option(
    "--slo-dir",
    "slo_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="SLO files or folders (default: platform/slo/).",
)
@click.option(
    "--window",
    "window_text",
    metavar="A..B",
    help="RFC 3339 times, epoch seconds (10 digits) or epoch ms (13 digits).",
)
@click.option(
    "--since",
    metavar="D",
    help="The window of length D ending now (default 1h; a run that is down: its retained range).",
)
@click.option("--allow-inconclusive", is_flag=True, help="Exit 0 on inconclusive verdicts.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
@click.option(
    "--run",
    "run_id",
    metavar="RUN",
    help="Take the backends from this run's file and record the verdicts in the run.",
)
@click.option(
    "--max-staleness",
    type=float,
    default=DEFAULT_MAX_STALENESS_S,
    show_default=True,
    help="Seconds the newest sample may lag the window's end.",
)
@click.option(
    "--coverage-timeout",
    type=float,
    default=DEFAULT_COVERAGE_TIMEOUT_S,
    show_default=True,
    help="Seconds to wait for the backends' data to reach the window's end.",
)
@pass_state
@click.pass_context
def gate(
    ctx: click.Context,
    state: CliState,
    *,
    names: tuple[str, ...],
    slo_paths: tuple[Path, ...],
    window_text: str | None,
    since: str | None,
    allow_inconclusive: bool,
    as_json: bool,
    run_id: str | None,
    max_staleness: float,
    coverage_timeout: float,
) -> None:
    """Evaluate the SLOs over a window; exit 0 all pass, 1 a fail, 2 inconclusive."""
    if window_text and since:
        raise click.UsageError("give --window or --since, not both")
    settings = state.settings()
    slos = _select(read_slos(slo_files(slo_paths or (default_slo_dir(),))), names)
    folder = _run_folder(settings, run_id) if run_id is not None else None
    if folder is not None and folder.read_manifest().state != "up":
        window, verdicts, url, stores = _judge_retained(
            settings,
            folder,
            slos,
            window_text=window_text,
            since=since,
            max_staleness=max_staleness,
        )
    else:
        window = parse_window(window_text) if window_text else window_since(since or "1h")
        url = prometheus_url(settings, run_id) if any(not s.is_log_based for s in slos) else None
        stores = _log_stores(settings, run_id, slos)
        try:
            if url is None:
                _await(slos, window, None, stores, coverage_timeout)
                verdicts = evaluate_all(slos, window, None, logs=stores)
            else:
                with PrometheusClient(url) as client:
                    _await(slos, window, client, stores, coverage_timeout)
                    verdicts = evaluate_all(
                        slos, window, client, logs=stores, max_staleness_s=max_staleness
                    )
        finally:
            for store in stores.values():
                store.close()
    overall = gate_verdict(verdicts)
    allowed = allow_inconclusive or settings.allow_inconclusive
    code = gate_exit_code(overall, allow_inconclusive=allowed)
    if folder is not None:
        record_gate(folder, verdicts, overall, exit_code=code, window=window)
    if as_json:
        document = {
            "outcome": overall.outcome.value,
            "exit_code": code,
            "prometheus": url,
            "log_stores": {backend: getattr(store, "url", "") for backend, store in stores.items()},
            "window": {"start_ms": window.start_ms, "end_ms": window.end_ms},
            "gate": overall.to_dict(),
            "verdicts": [v.to_dict() for v in verdicts],
        }
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        for verdict in verdicts:
            click.echo(verdict.explain())
        click.echo(f"gate: {overall.outcome.value.upper()} - {overall.reason} (exit {code})")
    if folder is not None:
        click.echo(f"verdicts: {folder.verdicts_path}", err=True)
    ctx.exit(code)


COMMANDS = (gate,)
