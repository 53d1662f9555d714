"""The HTML report, read the way a reviewer reads it: Allure 2's page in headless Chromium.

`stormcheck report` builds the report of the kept real run twice (the second carries the first's
history); the report is served on 127.0.0.1 (Allure's page loads its data with XHR, which
browsers refuse from file://) and Chromium dumps the DOM once the page's JavaScript has run.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from suites.reports.runs import RUN_ID, copy_run

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access log on stderr."""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the kept run, built twice so that the second carries history."""
    base = tmp_path_factory.mktemp("report") / "reports"
    copy_run(base / "runs")
    for _ in range(2):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "stormcheck",
                "--set",
                f"runs_dir={base / 'runs'}",
                "report",
                RUN_ID,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
    return base / "allure-report"


@pytest.fixture(scope="module")
def served(report: Path) -> Iterator[str]:
    """The report on an HTTP server bound to 127.0.0.1; yields its base URL."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(report))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _dom(url: str) -> str:
    assert CHROMIUM is not None, "Debian's chromium is not installed (scripts/bootstrap.sh python)"
    result = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--virtual-time-budget=20000", "--dump-dom", url,
        ],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_report_lists_the_runs_checks(report: Path, served: str) -> None:
    verdicts = json.loads((report.parent / "runs" / RUN_ID / "verdicts.json").read_text())
    expected = {"Does checkout survive losing the PostgreSQL primary?"} | {
        v["name"] for v in verdicts
    }
    dom = _dom(f"{served}/index.html#suites")
    missing = {name for name in expected if f">{name}<" not in dom}
    assert not missing, f"the suites page does not list {sorted(missing)}"
    history = json.loads((report / "history" / "history.json").read_text())
    assert any(len(item["items"]) == 2 for item in history.values()), "history carried over"


def test_an_experiments_page_shows_its_plot_and_journal(report: Path, served: str) -> None:
    cases = [json.loads(p.read_text()) for p in (report / "data" / "test-cases").glob("*.json")]
    (case,) = [c for c in cases if c["fullName"] == "resilience.postgres_primary_killed"]
    dom = _dom(f"{served}/index.html#testresult/{case['uid']}")
    assert ">Does checkout survive losing the PostgreSQL primary?<" in dom
    rows = dom.split('class="attachment-row__name')
    names = {row.split(">", 1)[1].split("<", 1)[0]: row for row in rows[1:]}
    assert "Chaos Toolkit journal" in names, sorted(names)
    plot = names.get("plot: SLI, latency and error ratio")
    assert plot is not None, sorted(names)
    source = plot.split('data-download="', 1)[1].split('"', 1)[0]
    assert source.endswith(".png")
    assert (report / source).read_bytes()[:4] == b"\x89PNG"


def test_failures_are_sorted_into_the_projects_categories(report: Path) -> None:
    verdicts = json.loads((report.parent / "runs" / RUN_ID / "verdicts.json").read_text())
    data = json.loads((report / "data" / "categories.json").read_text())
    counted = {c["name"]: sum(len(m["children"]) for m in c["children"]) for c in data["children"]}
    failed = sum(1 for v in verdicts if v["outcome"] == "fail")
    unmeasured = sum(1 for v in verdicts if v["outcome"] == "inconclusive")
    assert counted == {"SLO breach": failed, "Inconclusive: no data": unmeasured}, counted
    environment = {
        e["name"]: e["values"]
        for e in json.loads((report / "widgets" / "environment.json").read_text())
    }
    assert environment["run"] == [RUN_ID] and environment["profile"] == ["local"]
    (executor,) = json.loads((report / "widgets" / "executors.json").read_text())
    assert executor["buildName"] == f"run {RUN_ID}"
