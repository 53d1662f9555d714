"""One shape of result for both ways in, and Allure 2's result files written from it.

A :class:`Result` is what a reviewer sees of one check: status and message, labels (epic = area,
feature = experiment or SLO, story, severity, profile, zone), links (runbook, SLO file, experiment
file) and attachments. The main job builds results from a run folder (:func:`experiment_result`,
:func:`verdict_result`) and :func:`write_results` writes Allure 2's documented files
(``<uuid>-result.json``, ``<uuid>-container.json``, ``<uuid>-attachment.<ext>``); the pytest
adapter (``fixtures/allure.py``) asks :func:`result_labels`, :func:`labels_for_test` and
:func:`experiment_attachments` for the same decisions and hands them to allure-pytest.
Every text attachment passes through :func:`stormcheck.reports.redact.redact_text`.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stormcheck.errors import ConfigError
from stormcheck.paths import project_root
from stormcheck.reports.evidence import ExperimentRecord, RunEvidence
from stormcheck.reports.plots import write_plot
from stormcheck.reports.redact import redact_text
from stormcheck.timeline import iso_ms
from stormcheck.verdict import Outcome, Verdict

__all__ = [
    "Attachment",
    "Link",
    "Result",
    "Status",
    "experiment_attachments",
    "experiment_result",
    "labels_for_test",
    "result_labels",
    "run_results",
    "verdict_result",
    "write_results",
]

Status = Literal["passed", "failed", "broken", "skipped"]
SEVERITIES = ("blocker", "critical", "normal", "minor", "trivial")
_CONTRIBUTION_SEVERITY = {"high": "critical", "medium": "normal", "low": "minor", "none": "trivial"}
_TIER_SEVERITY = {
    "e2e": "critical",
    "catalogue": "critical",
    "integration": "normal",
    "slow": "normal",
    "unit": "minor",
    "static": "minor",
    "benchmark": "trivial",
}
SAMPLE_LOG_LINES = 50


@dataclass(frozen=True, slots=True)
class Link:
    """A link of a result: ``kind`` is Allure's link type (``link``, ``issue``, ``tms``)."""

    name: str
    url: str
    kind: str = "link"


@dataclass(frozen=True, slots=True)
class Attachment:
    """Content to attach: text is redacted before it is written; a PNG is copied as it is."""

    name: str
    content: bytes
    mime: str
    extension: str

    @classmethod
    def text(
        cls, name: str, text: str, *, mime: str = "text/plain", extension: str = "txt"
    ) -> Attachment:
        """A text attachment, redacted."""
        return cls(name, redact_text(text).encode("utf-8"), mime, extension)

    @classmethod
    def json(cls, name: str, data: Any) -> Attachment:
        """A JSON attachment, redacted."""
        return cls.text(
            name, json.dumps(data, indent=2, default=str), mime="application/json", extension="json"
        )

    @classmethod
    def png(cls, name: str, path: Path) -> Attachment:
        """A PNG image."""
        return cls(name, path.read_bytes(), "image/png", "png")


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """What a reviewer sees of one check."""

    name: str
    full_name: str
    status: Status
    message: str
    labels: tuple[tuple[str, str], ...]
    links: tuple[Link, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    start_ms: int = 0
    stop_ms: int = 0
    description: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)


def result_labels(
    *, area: str, feature: str, story: str, severity: str, profile: str, zone: str
) -> tuple[tuple[str, str], ...]:
    """The labels every result carries, in Allure's names (``severity`` one of Allure's five)."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r}: expected one of {', '.join(SEVERITIES)}")
    return (
        ("epic", area),
        ("feature", feature),
        ("story", story),
        ("severity", severity),
        ("profile", profile),
        ("zone", zone),
    )


def labels_for_test(
    nodeid: str, markers: Iterable[str], *, profile: str
) -> tuple[tuple[str, str], ...]:
    """Labels of a pytest test: epic = its suite folder, feature = its module, story = the test."""
    path, _, name = nodeid.partition("::")
    parts = Path(path).with_suffix("").parts
    area = parts[1] if len(parts) > 2 and parts[0] == "suites" else (parts[0] if parts else "tests")
    feature = parts[-1].removeprefix("test_") if parts else "tests"
    names = set(markers)
    severity = next((s for tier, s in _TIER_SEVERITY.items() if tier in names), "normal")
    story = name.split("[", 1)[0] or feature
    return result_labels(
        area=area, feature=feature, story=story, severity=severity, profile=profile, zone="all"
    )


def _severity(contributions: Mapping[str, str]) -> str:
    ranks = [
        s
        for s in SEVERITIES
        if s in {_CONTRIBUTION_SEVERITY.get(v, "normal") for v in contributions.values()}
    ]
    return ranks[0] if ranks else "normal"


def _zone(evidence: RunEvidence, record: ExperimentRecord) -> str:
    zones = set()
    for fault in record.faults:
        component = str(fault.get("component") or "")
        if component in evidence.manifest.components:
            zones.add(evidence.manifest.components[component].zone or "none")
        elif fault.get("zone"):
            zones.add(str(fault["zone"]))
    return ",".join(sorted(zones)) or "none"


def _slo_file(reference: str) -> str:
    """``/repo/platform/slo/x.yaml:35`` → ``platform/slo/x.yaml`` (the file, from the root)."""
    path, _, line = reference.rpartition(":")
    if not (path and line.isdigit()):
        path = reference
    try:
        return Path(path).resolve().relative_to(project_root()).as_posix()
    except ValueError:
        return path


def _slo_files(verdicts: Iterable[Verdict]) -> list[str]:
    return sorted(
        {
            _slo_file(e.sli.slo_file)
            for v in verdicts
            for e in v.evidence
            if e.sli and e.sli.slo_file
        }
    )


def _evidence_table(record: ExperimentRecord) -> str:
    """The SLO evidence table: the judge's verdicts, else the steady-state probes of the journal."""
    out = io.StringIO()
    writer = csv.writer(out)
    if record.verdicts:
        writer.writerow(
            [
                "verdict",
                "outcome",
                "observed",
                "objective",
                "budget_spent",
                "window",
                "query",
                "reason",
            ]
        )
        for verdict in record.verdicts:
            for e in verdict.evidence or (None,):
                window = (
                    ""
                    if e is None or e.window is None
                    else f"{e.window.start_ms}..{e.window.end_ms}"
                )
                writer.writerow([
                    verdict.name, verdict.outcome.value,
                    "" if e is None or e.observed is None else f"{e.observed:g}",
                    "" if e is None or e.objective is None else f"{e.objective:g}",
                    "" if e is None or e.budget_spent is None else f"{e.budget_spent:.4%}",
                    window, "" if e is None else e.query or "", verdict.reason,
                ])  # fmt: skip
        return out.getvalue()
    writer.writerow(["phase", "probe", "status", "output", "tolerance met"])
    states = record.journal.get("steady_states") or {}
    for phase in ("before", "after"):
        for probe in (states.get(phase) or {}).get("probes") or []:
            writer.writerow([
                phase, probe.get("activity", {}).get("name", ""), probe.get("status", ""),
                probe.get("output"), probe.get("tolerance_met"),
            ])  # fmt: skip
    return out.getvalue()


LOG_DOCUMENTS = Path("evidence") / "logs" / "documents.ndjson.gz"
"""The run's retained log documents: ``{"_index", "_id", "@ms", "_source"}`` a line (gzip)."""


def _log_sample(evidence: RunEvidence, record: ExperimentRecord) -> str | None:
    """Up to :data:`SAMPLE_LOG_LINES` retained log lines of the fault window, errors first."""
    path = evidence.folder.root / LOG_DOCUMENTS
    if not path.is_file():
        return None
    window = record.fault_window
    found: list[tuple[bool, int, str]] = []
    try:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    doc = json.loads(line)
                    at_ms = int(doc["@ms"])
                    source = doc["_source"]
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                    raise ConfigError(
                        f"{path}:{number}: expected a log document with @ms and _source ({exc})"
                    ) from None
                if window.start_ms <= at_ms <= window.end_ms:
                    text = json.dumps(source, sort_keys=True)
                    level = str(source.get("level", "")).lower() if isinstance(source, dict) else ""
                    calm = (
                        level not in ("error", "critical", "warning") and '"status": 5' not in text
                    )
                    found.append((calm, at_ms, text))
    except (OSError, EOFError) as exc:
        raise ConfigError(f"{path}: not a readable gzip file ({exc})") from None
    if not found:
        return None
    sample = sorted(found)[:SAMPLE_LOG_LINES]
    head = (
        f"{len(sample)} of {len(found)} log documents in the fault window"
        f" {iso_ms(window.start_ms)}..{iso_ms(window.end_ms)}, errors first\n"
    )
    return (
        head
        + "\n".join(f"{iso_ms(at)} {text}" for _, at, text in sorted(sample, key=lambda x: x[1]))
        + "\n"
    )


def experiment_attachments(
    evidence: RunEvidence, record: ExperimentRecord, plots_dir: Path
) -> tuple[Attachment, ...]:
    """The attachments of an experiment's result, in the order a reviewer reads them."""
    spec_path, png = write_plot(plots_dir, evidence.run_id, record, evidence.buckets)
    attachments = [
        *plot_attachments(
            "plot: SLI, latency and error ratio", "plot specification", png, spec_path
        ),
        Attachment.text(
            "SLO evidence table", _evidence_table(record), mime="text/csv", extension="csv"
        ),
        Attachment.json("Chaos Toolkit journal", record.journal),
        Attachment.text(
            "snapshot diff",
            "\n".join(
                str(d) for d in (record.journal.get("stormcheck") or {}).get("snapshot_diff") or []
            )
            or "no difference: the platform was left as found\n",
        ),
    ]
    stats = evidence.folder.root / "load" / "locust_stats.csv"
    if stats.is_file():
        attachments.append(
            Attachment.text(
                "Locust stats", stats.read_text(encoding="utf-8"), mime="text/csv", extension="csv"
            )
        )
    sample = _log_sample(evidence, record)
    if sample is not None:
        attachments.append(Attachment.text("log lines in the fault window (sample)", sample))
    if record.resilience is not None:
        attachments.append(Attachment.json("resilience result", record.resilience))
    return tuple(attachments)


def _experiment_status(record: ExperimentRecord) -> tuple[Status, str]:
    if record.resilience is not None and record.reading.outcome.value in ("held", "deviated"):
        if record.resilience.get("met") is True:
            return "passed", "every verdict within its expected outcomes"
        missed = [v for v in record.verdicts if v.name in record.missed]

        def why(items: list[Verdict]) -> str:
            return "; ".join(f"{v.name}: {v.outcome.value}: {v.reason}" for v in items)

        failed = [v for v in missed if v.outcome is Outcome.FAIL]
        for word, category in (
            ("/integrity", "integrity violated"),
            ("/recover", "recovery too slow"),
        ):
            hits = [v for v in failed if v.name.endswith(word)]
            if hits:
                return "failed", f"{category}: {why(hits)}"
        if failed:
            return "failed", f"SLO breach: {why(failed)}"
        unmeasured = [v for v in missed if v.outcome is Outcome.INCONCLUSIVE]
        if unmeasured:
            return "broken", f"inconclusive: no data: {why(unmeasured)}"
        return "failed", f"outside the expected outcomes: {why(missed) or 'nothing was judged'}"
    reading = record.reading
    reasons = "; ".join(reading.reasons)
    diff = (record.journal.get("stormcheck") or {}).get("snapshot_diff") or []
    if reading.outcome.value == "held":
        if diff:
            return "failed", f"not left as found: {len(diff)} difference(s) after the experiment"
        return "passed", reasons
    if reading.outcome.value == "deviated":
        return "failed", f"SLO breach: the steady state deviated: {reasons}"
    if reading.outcome.value == "inconclusive":
        if "before" in reasons:
            return "broken", f"platform not ready: {reasons}"
        return "broken", f"inconclusive: no data: {reasons}"
    return "broken", f"harness error: {reasons}"


def plot_attachments(
    name: str, spec_name: str, png: Path, spec_path: Path
) -> tuple[Attachment, Attachment]:
    """A plot's PNG and the specification it was drawn from, as two attachments."""
    return (
        Attachment.png(name, png),
        Attachment.text(
            spec_name,
            spec_path.read_text(encoding="utf-8"),
            mime="application/json",
            extension="json",
        ),
    )


def _judged_by_the_run(verdicts: list[Verdict]) -> tuple[Status, str]:
    """The status of an experiment the run judged itself (the canary: ``<stem>/aborted`` and
    ``<stem>/snapshot-diff``), from those verdicts rather than from its journal, which an abort
    always leaves interrupted."""
    named = "; ".join(f"{v.name}: {v.outcome.value}" for v in verdicts)
    if all(v.outcome is Outcome.PASS for v in verdicts):
        return "passed", f"as the run expected: {named}"
    if any(v.outcome is Outcome.FAIL for v in verdicts):
        return "failed", f"outside the expected outcomes: {named}"
    return "broken", f"inconclusive: no data: {named}"


def experiment_result(evidence: RunEvidence, record: ExperimentRecord, plots_dir: Path) -> Result:
    """The result of one experiment of the run."""
    own = [v for v in evidence.verdicts if v.name.startswith(f"{record.stem}/")]
    if record.resilience is None and own:
        status, message = _judged_by_the_run(own)
    else:
        status, message = _experiment_status(record)
    first_alert = record.alerts[0].name if record.alerts else None
    runbook = str((record.resilience or {}).get("runbook") or "") or (
        f"docs/runbooks/{first_alert}.md" if first_alert else ""
    )
    links = [Link("experiment file", record.experiment_file)] if record.experiment_file else []
    links += [Link("runbook", runbook)] if runbook else []
    links += [Link(f"SLO file {Path(f).name}", f) for f in _slo_files(record.verdicts)]
    story = (
        "; ".join(str(f.get("description") or f.get("name")) for f in record.faults) or record.stem
    )
    return Result(
        name=record.title,
        full_name=f"resilience.{record.stem}",
        status=status,
        message=message,
        labels=result_labels(
            area="resilience",
            feature=record.stem,
            story=story,
            severity=_severity(record.contributions),
            profile=evidence.manifest.profile,
            zone=_zone(evidence, record),
        ),
        links=tuple(links),
        attachments=experiment_attachments(evidence, record, plots_dir),
        start_ms=record.window.start_ms,
        stop_ms=record.window.end_ms,
        description=str(record.journal.get("experiment", {}).get("description") or ""),
        parameters={"run": evidence.run_id, "journal": record.journal_path.name},
    )


_VERDICT_STATUS: dict[Outcome, Status] = {
    Outcome.PASS: "passed",
    Outcome.FAIL: "failed",
    Outcome.INCONCLUSIVE: "broken",
}


def verdict_result(evidence: RunEvidence, verdict: Verdict) -> Result:
    """The result of one SLO verdict of the run (``verdicts.json``)."""
    status = _VERDICT_STATUS[verdict.outcome]
    prefix = {"pass": "", "fail": "SLO breach: ", "inconclusive": "inconclusive: no data: "}[
        verdict.outcome.value
    ]
    windows = [e.window for e in verdict.evidence if e.window is not None]
    table = "\n".join(verdict.explain().splitlines()) + "\n"
    return Result(
        name=verdict.name,
        full_name=f"slo.{verdict.name}",
        status=status,
        message=prefix + verdict.reason,
        labels=result_labels(
            area="slo",
            feature=verdict.name,
            story=next((e.source for e in verdict.evidence if e.source), "gate"),
            severity="critical",
            profile=evidence.manifest.profile,
            zone="all",
        ),
        links=tuple(Link(f"SLO file {Path(f).name}", f) for f in _slo_files([verdict])),
        attachments=(
            Attachment.text("SLO evidence table", table),
            Attachment.json("verdict", verdict.to_dict()),
        ),
        start_ms=min((w.start_ms for w in windows), default=0),
        stop_ms=max((w.end_ms for w in windows), default=0),
        parameters={"run": evidence.run_id},
    )


def run_results(evidence: RunEvidence, plots_dir: Path) -> tuple[Result, ...]:
    """Every result of a run: one per experiment, one per verdict of ``verdicts.json``."""
    return tuple(experiment_result(evidence, r, plots_dir) for r in evidence.experiments) + tuple(
        verdict_result(evidence, v) for v in evidence.verdicts
    )


def _history_id(result: Result) -> str:
    return hashlib.md5(result.full_name.encode("utf-8"), usedforsecurity=False).hexdigest()


def write_results(results: Sequence[Result], directory: Path, *, container: str) -> list[Path]:
    """Write Allure 2 result files for ``results`` (and one container named ``container``)."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    children = []
    for result in results:
        result_id = str(uuid.uuid4())
        children.append(result_id)
        attachments = []
        for attachment in result.attachments:
            source = f"{uuid.uuid4()}-attachment.{attachment.extension}"
            (directory / source).write_bytes(attachment.content)
            attachments.append({"name": attachment.name, "source": source, "type": attachment.mime})
        data = {
            "uuid": result_id,
            "historyId": _history_id(result),
            "testCaseId": _history_id(result),
            "fullName": result.full_name,
            "name": result.name,
            "status": result.status,
            "statusDetails": {"message": redact_text(result.message)},
            "stage": "finished",
            "description": redact_text(result.description),
            "start": result.start_ms,
            "stop": result.stop_ms,
            "labels": [{"name": k, "value": v} for k, v in result.labels],
            "links": [
                {"name": link.name, "url": link.url, "type": link.kind} for link in result.links
            ],
            "parameters": [{"name": k, "value": v} for k, v in result.parameters.items()],
            "attachments": attachments,
            "steps": [],
        }
        path = directory / f"{result_id}-result.json"
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        written.append(path)
    container_id = str(uuid.uuid4())
    path = directory / f"{container_id}-container.json"
    path.write_text(
        json.dumps(
            {
                "uuid": container_id,
                "name": container,
                "children": children,
                "befores": [],
                "afters": [],
                "start": min((r.start_ms for r in results), default=0),
                "stop": max((r.stop_ms for r in results), default=0),
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    written.append(path)
    return written
