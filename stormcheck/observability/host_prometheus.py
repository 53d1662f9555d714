"""A real Prometheus on the host, serving data written for it: :func:`start_host_prometheus`.

Series with known values are written as OpenMetrics text, ``promtool tsdb create-blocks-from
openmetrics`` turns them into TSDB blocks, and a ``prometheus`` process (Debian's package; no
Docker) serves them on a free 127.0.0.1 port. It scrapes nothing, so the data is exactly what
was written. Recording rules can be evaluated over that data too, as ``promtool tsdb
create-blocks-from rules`` backfills them (against the running server, whose blocks are then
reloaded by a restart). The SLO tests check the engine's arithmetic against it, and the
benchmarks use it; the caller stops what it starts (``stop()``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from stormcheck.errors import ConfigError
from stormcheck.net import free_port
from stormcheck.waiting import NotYet, poll_until

__all__ = ["HostPrometheus", "serve_blocks", "start_host_prometheus"]

_READY_TIMEOUT_S = 30.0
_BACKFILL_TIMEOUT_S = 300.0
_CONFIG = "global:\n  evaluation_interval: 1m\n"


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ConfigError(
            f"{name} is not on PATH: install Debian's `prometheus` package (scripts/bootstrap.sh"
            " does); the SLO tests need the host's prometheus and promtool"
        )
    return found


@dataclass(slots=True)
class HostPrometheus:
    """A Prometheus process serving backfilled blocks from ``data_dir``."""

    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL); never raises."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _promtool(*args: str) -> None:
    result = subprocess.run(
        [_binary("promtool"), *args],
        capture_output=True,
        text=True,
        timeout=_BACKFILL_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"promtool {' '.join(args[:3])} failed: {(result.stdout + result.stderr).strip()[-2000:]}"
        )


def _backfill(openmetrics: str, folder: Path) -> Path:
    source = folder / "series.om"
    source.write_text(openmetrics, encoding="utf-8")
    data_dir = folder / "data"
    _promtool("tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir))
    return data_dir


def _backfill_rules(
    running: HostPrometheus,
    rules: str,
    span: tuple[float, float],
    step_s: int,
    folder: Path,
    *,
    output: str,
) -> None:
    """Blocks of the recording ``rules``, evaluated by promtool against ``running`` over ``span``."""
    rule_file = folder / "recording.rules.yml"
    rule_file.write_text(rules, encoding="utf-8")
    _promtool(
        "tsdb",
        "create-blocks-from",
        "rules",
        f"--start={span[0]:.0f}",
        f"--end={span[1]:.0f}",
        f"--url={running.url}",
        f"--eval-interval={step_s}s",
        f"--output-dir={output}",
        "--quiet",
        str(rule_file),
    )


def _recorded_names(rules: str) -> set[str]:
    document = yaml.safe_load(rules) or {}
    return {
        str(rule["record"])
        for group in document.get("groups") or []
        for rule in group.get("rules") or []
        if "record" in rule
    }


def _wait_for_recordings(running: HostPrometheus, names: set[str]) -> None:
    """Return once the restarted server answers with the backfilled recordings (blocks that
    overlap the raw ones are accepted by Prometheus >= 2.39 and loaded at start)."""

    def loaded() -> bool | NotYet:
        try:
            answer = httpx.get(f"{running.url}/api/v1/label/__name__/values", timeout=5).json()
        except (httpx.HTTPError, ValueError) as exc:
            return NotYet(str(exc))
        missing = names - set(answer.get("data") or [])
        return NotYet(f"missing {sorted(missing)[:3]}") if missing else True

    try:
        poll_until(
            loaded,
            timeout_s=_READY_TIMEOUT_S,
            interval_s=0.2,
            on_timeout=lambda why: RuntimeError(
                f"prometheus at {running.url} does not serve the backfilled recordings ({why}):\n"
                + running.log_path.read_text(errors="replace")[-2000:]
            ),
        )
    except BaseException:
        running.stop()
        raise


def _start(folder: Path, data_dir: Path) -> HostPrometheus:
    config = folder / "prometheus.yml"
    config.write_text(_CONFIG, encoding="utf-8")
    log_path = folder / "prometheus.log"
    port = free_port()
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                _binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={data_dir}",
                f"--web.listen-address=127.0.0.1:{port}",
                # Retention counts back from the newest block, so old backfilled data stays.
                "--storage.tsdb.retention.time=10y",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running = HostPrometheus(
        url=f"http://127.0.0.1:{port}", data_dir=data_dir, log_path=log_path, process=process
    )

    def ready() -> bool | NotYet:
        if process.poll() is not None:
            raise RuntimeError(
                f"prometheus exited with {process.returncode} before it was ready:\n"
                + log_path.read_text(errors="replace")[-2000:]
            )
        try:
            answered = httpx.get(f"{running.url}/-/ready", timeout=1).status_code
        except httpx.HTTPError as exc:
            return NotYet(str(exc))
        if answered != httpx.codes.OK:
            return NotYet(f"HTTP {answered}")
        # Another server may hold the port (free_port() cannot reserve it): then ours has exited.
        time.sleep(0.2)
        if process.poll() is not None:
            raise RuntimeError(
                f"prometheus exited with {process.returncode} while {running.url} answered:\n"
                + log_path.read_text(errors="replace")[-2000:]
            )
        return True

    try:
        poll_until(
            ready,
            timeout_s=_READY_TIMEOUT_S,
            interval_s=0.1,
            on_timeout=lambda why: RuntimeError(
                f"prometheus at {running.url} not ready after {_READY_TIMEOUT_S:g} s ({why})"
            ),
        )
    except BaseException:
        running.stop()
        raise
    return running


def start_host_prometheus(
    openmetrics: str,
    folder: Path,
    *,
    recording_rules: str | None = None,
    rules_span: tuple[float, float] = (0.0, 0.0),
    rules_step_s: int = 60,
) -> HostPrometheus:
    """A ready Prometheus serving ``openmetrics`` (text ending in ``# EOF``) from ``folder``.

    With ``recording_rules`` (a rule file's text), its recording rules are evaluated every
    ``rules_step_s`` over ``rules_span`` (epoch seconds, both ends included) and backfilled as
    well; alerting rules are ignored. The caller stops the result. Raises :class:`ConfigError` when prometheus/promtool are missing and
    ``RuntimeError`` when a backfill or the start fails (nothing is left running then).
    """
    data_dir = _backfill(openmetrics, folder)
    running = _start(folder, data_dir)
    if recording_rules is None:
        return running
    with tempfile.TemporaryDirectory(dir=folder, prefix="rule-blocks-") as output:
        try:
            _backfill_rules(
                running, recording_rules, rules_span, rules_step_s, folder, output=output
            )
        finally:
            running.stop()
        # Moved only once the server that was queried has stopped: a running Prometheus reloads
        # its blocks every minute and may start compacting the new ones as it is stopped.
        blocks = [block for block in Path(output).iterdir() if block.is_dir()]
        for block in blocks:
            shutil.move(str(block), data_dir / block.name)
    restarted = _start(folder, data_dir)
    if blocks:
        _wait_for_recordings(restarted, _recorded_names(recording_rules))
    return restarted


def serve_blocks(data_dir: Path, folder: Path) -> HostPrometheus:
    """A ready Prometheus serving the TSDB blocks already in ``data_dir`` (e.g. a snapshot's).

    Its configuration and log go to ``folder``. Prometheus may compact what it serves, so hand it
    a copy of data that must stay as it is. The caller stops the result; ``RuntimeError`` when it
    does not start (nothing is left running then).
    """
    return _start(folder, data_dir)
