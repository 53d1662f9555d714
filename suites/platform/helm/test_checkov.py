"""One checkov pass over every chart's rendered manifests (all ci cases), offline.

checkov's helm framework passes silently without a helm binary, so the charts are rendered first
with the pinned helm and checkov reads the manifests (framework kubernetes). It runs from its own
virtualenv (``stormcheck tools install checkov``) with ``--skip-download``. A failed check fails
the test unless it is accepted below, with the reason.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stormcheck.errors import ToolInstallError
from stormcheck.settings import Settings
from stormcheck.tools import install_tool

from .charts import CHARTS, ci_values, installed_helm, rendered

pytestmark = pytest.mark.static

ACCEPTED = {
    "CKV_K8S_43": "images are pinned by tag, and the tag is the content hash of the image's build"
    " context (or a release version for the official images): a digest is only known after"
    " the push, and the registry's repositories keep tags immutable",
    "CKV_K8S_15": "with immutable content-hash tags, IfNotPresent pulls exactly when the image"
    " changed; Always would only add a registry round trip to every pod start",
    "CKV_K8S_35": "the shop reads SHOP_DATABASE_URL and SHOP_REDIS_URL from its environment"
    " (platform/shop settings); they come from the ExternalSecret's Secret, never from values",
}


@pytest.fixture(scope="session")
def checkov_report(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """checkov's JSON report over the rendered manifests, and how many resources were rendered."""
    helm = installed_helm(settings)
    try:
        checkov = install_tool("checkov", settings.cache_dir) / "checkov"
    except ToolInstallError as exc:
        pytest.fail(str(exc), pytrace=False)
    folder = tmp_path_factory.mktemp("rendered")
    resources = 0
    workloads = set()
    for chart in CHARTS:
        for values in ci_values(chart):
            rendering = rendered(helm, chart, values)
            resources += len(rendering.docs)
            workloads |= {
                f"{d['kind']}.{d['metadata']['namespace']}.{d['metadata']['name']}"
                for d in rendering.docs
                if d["kind"] in ("Deployment", "Job")
            }
            (folder / f"{chart}-{values.stem}.yaml").write_text(
                "---\n".join(json.dumps(doc) + "\n" for doc in rendering.docs), encoding="utf-8"
            )
    done = subprocess.run(
        [str(checkov), "--directory", str(folder), "--framework", "kubernetes",
         "--skip-download", "--output", "json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.stdout.lstrip().startswith(("{", "[")), done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(done.stdout)
    if isinstance(report, list):  # one entry per framework
        (report,) = [r for r in report if r.get("check_type") == "kubernetes"]
    files = len(list(folder.iterdir()))
    return {"report": report, "resources": resources, "files": files, "workloads": workloads}


def test_checkov_checked_every_rendered_file(checkov_report: dict[str, Any]) -> None:
    summary = checkov_report["report"]["summary"]
    assert summary["parsing_errors"] == 0 and summary["passed"] > 0, summary
    checked = {
        Path(c["file_path"]).name for c in checkov_report["report"]["results"]["passed_checks"]
    }
    assert len(checked) == checkov_report["files"], checked
    results = checkov_report["report"]["results"]
    seen = {c["resource"] for c in results["passed_checks"] + results["failed_checks"]}
    assert checkov_report["workloads"] <= seen, sorted(checkov_report["workloads"] - seen)


def test_checkov_finds_nothing_but_the_accepted_checks(checkov_report: dict[str, Any]) -> None:
    failed = checkov_report["report"]["results"]["failed_checks"]
    unexpected = sorted(
        f"{Path(c['file_path']).name}: {c['check_id']} {c['check_name']} ({c['resource']})"
        for c in failed
        if c["check_id"] not in ACCEPTED
    )
    assert not unexpected, unexpected
