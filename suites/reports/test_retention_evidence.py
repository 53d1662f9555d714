"""A run's retained evidence read back: the verdicts of the live data, refusals in one line.

The evidence here is made the way Prometheus makes it — TSDB blocks, written by ``promtool tsdb
create-blocks-from openmetrics`` from the SLO tests' dataset (HAProxy counters with a 5xx burst)
— in the folder of a run that is down. ``gate --run`` on it must give what a live Prometheus
holding the same data gives; a window outside the blocks, a missing or corrupt evidence folder is
one ``error:`` line (exit 3), no traceback, and nothing of the folder is touched.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stormcheck.cli import main
from stormcheck.paths import project_root
from stormcheck.runs import Lease, RunFolder, create_run
from suites.slo.series import at, dataset_openmetrics

SLO_DIR = project_root() / "platform" / "slo"
_SLO = ("--slo-dir", str(SLO_DIR), "--slo", "checkout-availability")


def _cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, runs: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """``stormcheck ARGS`` in this process (the real entry point: exit code, ``error:`` line)."""
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(runs))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), int(exited.value.code or 0), out, err)


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def _down_run(runs: Path) -> RunFolder:
    folder, manifest = create_run(
        runs, profile="local", stack="minimal", lease=Lease.for_current_process()
    )
    manifest.state = "down"
    folder.write_manifest(manifest)
    return folder


def _write_evidence(folder: RunFolder, blocks: Path | None) -> Path:
    """``evidence/`` as :func:`~stormcheck.reports.retention.retain_evidence` leaves it."""
    root = folder.root / "evidence"
    root.mkdir()
    prometheus: dict[str, Any] = {"status": "absent", "reason": "the run has no Prometheus"}
    if blocks is not None:
        shutil.copytree(blocks, root / "prometheus")
        metas = [json.loads(m.read_text()) for m in (root / "prometheus").glob("*/meta.json")]
        prometheus = {
            "status": "retained",
            "path": "prometheus",
            "start_ms": min(m["minTime"] for m in metas),
            "end_ms": max(m["maxTime"] for m in metas) - 1,
            "size_bytes": 1,
        }
    document = {
        "format": 1,
        "run_id": folder.run_id,
        "retained_ms": at(180) * 1000,
        "prometheus": prometheus,
        "logs": {"status": "absent", "reason": "the run has no log store"},
    }
    (root / "evidence.json").write_text(json.dumps(document), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def dataset_blocks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dataset as TSDB blocks (``promtool tsdb create-blocks-from openmetrics``)."""
    folder = tmp_path_factory.mktemp("blocks")
    (folder / "series.om").write_text(dataset_openmetrics(), encoding="utf-8")
    subprocess.run(
        [
            shutil.which("promtool") or "promtool",
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(folder / "series.om"),
            str(folder / "data"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder / "data"


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _judged(report: dict[str, Any]) -> list[tuple[object, ...]]:
    return [
        (
            v["name"],
            v["outcome"],
            v["evidence"][0]["observed"],
            v["evidence"][0]["sli"]["good"],
            v["evidence"][0]["sli"]["total"],
            v["evidence"][0]["budget_spent"],
        )
        for v in report["verdicts"]
    ]


@pytest.mark.integration
@pytest.mark.parametrize(("window", "outcome"), [((30, 90), "pass"), ((110, 140), "fail")])
def test_retained_blocks_give_the_verdicts_of_a_live_prometheus(
    *,
    window: tuple[int, int],
    outcome: str,
    dataset_blocks: Path,
    make_host_prometheus: Callable[[str], Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live_url = str(make_host_prometheus(dataset_openmetrics()).url)
    folder = _down_run(tmp_path / "runs")
    evidence = _write_evidence(folder, dataset_blocks)
    before = _tree_digest(evidence)
    span = f"{at(window[0])}..{at(window[1])}"

    monkeypatch.setenv("STORMCHECK_PROMETHEUS_URL", live_url)
    live = _cli(capsys, monkeypatch, tmp_path / "runs", "gate", *_SLO, "--window", span, "--json")
    monkeypatch.delenv("STORMCHECK_PROMETHEUS_URL")
    retained = _cli(
        capsys,
        monkeypatch,
        tmp_path / "runs",
        "gate",
        "--run",
        folder.run_id,
        *_SLO,
        "--window",
        span,
        "--json",
    )

    assert live.returncode == retained.returncode == {"pass": 0, "fail": 1}[outcome], (
        live.stderr + retained.stderr
    )
    assert "is down: judging its retained evidence" in retained.stderr
    assert _judged(json.loads(retained.stdout)) == _judged(json.loads(live.stdout))
    assert json.loads(retained.stdout)["verdicts"][0]["outcome"] == outcome
    assert _tree_digest(evidence) == before, "serving the evidence changed it"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("window", "why"),
    [((170, 190), "reaches past the end"), ((-30, 10), "starts before the first sample")],
)
def test_a_window_outside_the_retained_data_is_refused_in_one_line(
    *,
    window: tuple[int, int],
    why: str,
    dataset_blocks: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = _down_run(tmp_path / "runs")
    _write_evidence(folder, dataset_blocks)
    span = f"{at(window[0])}..{at(window[1])}"
    whole = _cli(
        capsys, monkeypatch, tmp_path / "runs", "gate", "--run", folder.run_id, *_SLO, "--json"
    )
    # the default window is the whole retained range (3 h, the 5xx burst included): judged
    assert whole.returncode == 1, whole.stderr
    report = json.loads(whole.stdout)
    assert report["window"] == {"start_ms": at(0), "end_ms": at(180)}, report["window"]
    done = _cli(
        capsys,
        monkeypatch,
        tmp_path / "runs",
        "gate",
        "--run",
        folder.run_id,
        *_SLO,
        "--window",
        span,
    )
    line = _one_line_error(done)
    assert "is outside the retained prometheus data" in line, (why, line)
    assert folder.run_id in line


# --- a missing or corrupt evidence folder ---------------------------------------------------


def _corrupt_json(root: Path) -> str:
    (root / "evidence.json").write_text('{"format": 1, "run_id": ', encoding="utf-8")
    return "not valid JSON"


def _edit(change: Callable[[dict[str, Any]], None], expected: str) -> Callable[[Path], str]:
    def corrupt(root: Path) -> str:
        document = json.loads((root / "evidence.json").read_text())
        change(document)
        (root / "evidence.json").write_text(json.dumps(document), encoding="utf-8")
        return expected

    return corrupt


def _no_blocks(root: Path) -> str:
    for block in (root / "prometheus").iterdir():
        shutil.rmtree(block)
    return "expected TSDB blocks"


def _bad_meta(root: Path) -> str:
    next((root / "prometheus").glob("*/meta.json")).write_text("{}", encoding="utf-8")
    return "expected JSON with integer minTime and maxTime"


def _missing_logs(root: Path) -> str:
    document = json.loads((root / "evidence.json").read_text())
    document["logs"] = {
        "status": "retained",
        "path": "logs/documents.ndjson.gz",
        "start_ms": 1,
        "end_ms": 2,
        "documents": 1,
    }
    (root / "evidence.json").write_text(json.dumps(document), encoding="utf-8")
    return "logs/documents.ndjson.gz is missing"


CORRUPTIONS: dict[str, Callable[[Path], str]] = {
    "truncated evidence.json": _corrupt_json,
    "a newer format": _edit(lambda d: d.update(format=2), "field 'format': expected 1"),
    "no prometheus field": _edit(lambda d: d.pop("prometheus"), "missing field 'prometheus'"),
    "an unknown status": _edit(
        lambda d: d["prometheus"].update(status="maybe"), "field 'prometheus'.status"
    ),
    "a range that is not a number": _edit(
        lambda d: d["prometheus"].update(end_ms="soon"), "end_ms: expected an integer"
    ),
    "no block": _no_blocks,
    "a block without its range": _bad_meta,
    "a retained log file that is missing": _missing_logs,
}


@pytest.mark.unit
@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_a_corrupt_evidence_folder_is_one_line_and_is_left_as_it_is(
    corruption: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = _down_run(tmp_path / "runs")
    block = tmp_path / "blocks" / "01JDATASET0000000000000000"
    block.mkdir(parents=True)
    (block / "meta.json").write_text(
        json.dumps({"ulid": block.name, "minTime": at(0) * 1000, "maxTime": at(60) * 1000}),
        encoding="utf-8",
    )
    root = _write_evidence(folder, tmp_path / "blocks")
    expected = CORRUPTIONS[corruption](root)
    before = _tree_digest(folder.root)
    done = _cli(capsys, monkeypatch, tmp_path / "runs", "gate", "--run", folder.run_id, *_SLO)
    line = _one_line_error(done)
    assert expected in line, line
    assert str(root) in line, line  # names the file or folder
    assert _tree_digest(folder.root) == before


@pytest.mark.unit
def test_a_run_that_kept_no_evidence_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _down_run(tmp_path / "runs")
    done = _cli(capsys, monkeypatch, tmp_path / "runs", "gate", "--run", folder.run_id, *_SLO)
    line = _one_line_error(done)
    assert "kept no evidence" in line and "evidence/evidence.json" in line, line


@pytest.fixture(autouse=True)
def _no_backend_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORMCHECK_PROMETHEUS_URL", raising=False)
    monkeypatch.delenv("STORMCHECK_LOGSTORE_URL", raising=False)
