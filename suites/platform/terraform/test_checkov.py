"""checkov, offline in its own virtualenv, over platform/terraform: one pass shared by the tests.

Every failed check must be in platform/terraform/checkov-baseline.toml (each accepted finding with
its reason, capped in number); an entry that no longer matches a finding must be removed. A second,
small pass over deliberately broken copies shows checkov naming the file and the check id.
"""

from __future__ import annotations

import fnmatch
import json
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stormcheck.settings import Settings
from suites.platform.terraform.broken import BROKEN, ROOT
from suites.platform.terraform.tooling import installed, run

pytestmark = pytest.mark.static

BASELINE = ROOT / "checkov-baseline.toml"
CAP = 15
# Broken copies checkov must name, by the check id it fails. (A removed backup_retention_period
# passes checkov's CKV_AWS_133, and a database group open to 0.0.0.0/0 on 5432 matches no check:
# the policy rules backup-retention and data-tier-ingress catch those.)
CHECKOV_BROKEN = {
    "unencrypted-rds": ("CKV_AWS_16", "aws_db_instance.this"),
    "single-az-rds": ("CKV_AWS_157", "aws_db_instance.this"),
}


@dataclass(frozen=True, slots=True)
class Failed:
    check: str
    file: str
    resource: str

    def __str__(self) -> str:
        return f"{self.file}: {self.check} on {self.resource}"


@dataclass(frozen=True, slots=True)
class Accepted:
    check: str
    file: str
    resource: str
    reason: str

    def matches(self, failed: Failed) -> bool:
        return (
            failed.check == self.check
            and failed.file == self.file
            and fnmatch.fnmatchcase(failed.resource, self.resource)
        )


def _checkov(checkov: Path, folder: Path) -> list[Failed]:
    done = run(
        [checkov, "-d", ".", "--framework", "terraform", "--skip-download", "--quiet",
         "--compact", "--output", "json"],
        folder,
        timeout=600,
    )  # fmt: skip
    try:
        reports: Any = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov gave no JSON report (exit {done.returncode}): {done.stderr[-2000:]}")
    reports = [reports] if isinstance(reports, dict) else reports
    assert all(r["summary"]["parsing_errors"] == 0 for r in reports), reports
    return sorted(
        {
            Failed(f["check_id"], f["file_path"], f["resource"])
            for report in reports
            for f in report["results"]["failed_checks"]
        },
        key=str,
    )


@pytest.fixture(scope="module")
def checkov(settings: Settings) -> Path:
    return installed(settings, "checkov")


@pytest.fixture(scope="module")
def failed(checkov: Path) -> list[Failed]:
    """The one checkov pass over platform/terraform (about 10 s), shared by this module's tests."""
    started = time.monotonic()
    found = _checkov(checkov, ROOT)
    print(
        f"checkov over platform/terraform: {time.monotonic() - started:.1f} s, {len(found)} failed"
    )
    return found


def _baseline() -> tuple[int, list[Accepted]]:
    data = tomllib.loads(BASELINE.read_text(encoding="utf-8"))
    entries = []
    for index, entry in enumerate(data.get("accepted", [])):
        missing = [
            k for k in ("check", "file", "resource", "reason") if not str(entry.get(k, "")).strip()
        ]
        assert not missing, f"{BASELINE}: accepted[{index}] lacks {missing}"
        entries.append(Accepted(entry["check"], entry["file"], entry["resource"], entry["reason"]))
    return int(data["max_entries"]), entries


def test_the_baseline_is_capped_and_every_entry_has_a_reason() -> None:
    max_entries, entries = _baseline()
    assert max_entries <= CAP, f"{BASELINE}: max_entries {max_entries} > {CAP}"
    assert len(entries) <= max_entries, f"{BASELINE}: {len(entries)} entries > {max_entries}"
    assert all(len(e.reason) >= 40 for e in entries), "a reason says why, in a sentence"


def test_checkov_finds_nothing_outside_the_baseline(failed: list[Failed]) -> None:
    _, entries = _baseline()
    new = [f for f in failed if not any(e.matches(f) for e in entries)]
    assert not new, "new checkov findings (fix them, or accept them with a reason):\n" + "\n".join(
        map(str, new)
    )


def test_every_baseline_entry_still_matches_a_finding(failed: list[Failed]) -> None:
    _, entries = _baseline()
    stale = [e for e in entries if not any(e.matches(f) for f in failed)]
    assert not stale, f"{BASELINE}: entries that match nothing any more, remove them: {stale}"


def test_checkov_names_check_and_file_of_broken_copies(checkov: Path, tmp_path: Path) -> None:
    """One more pass, over every broken copy side by side (each in a folder of its own)."""
    for name in CHECKOV_BROKEN:
        next(b for b in BROKEN if b.name == name).make(tmp_path / name)
    found = _checkov(checkov, tmp_path)
    for name, (check, resource) in CHECKOV_BROKEN.items():
        broken = next(b for b in BROKEN if b.name == name)
        expected = Failed(check, f"/{name}/{broken.file}", resource)
        assert expected in found, f"{name}: checkov did not report {expected}; found {found}"
