"""The session platform fixture: one run for the whole session, shared by xdist workers, then removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stormcheck.paths import project_root

pytestmark = pytest.mark.integration

WORKER_TESTS = """
import json, os
import pytest

@pytest.mark.integration
@pytest.mark.parametrize("n", range(4))
def test_uses_platform(local_platform, endpoints, containers, n):
    assert local_platform.manifest.state == "up"
    assert containers["postgres"].status == "running"
    with open(os.environ["SEEN_FILE"], "a") as f:
        f.write(json.dumps({"run": local_platform.folder.run_id, "worker": os.environ.get("PYTEST_XDIST_WORKER", "-"),
                            "api": endpoints["shop-1"]["api"]}) + "\\n")
"""


@pytest.mark.parametrize("workers", [0, 2])
def test_one_platform_per_session_shared_by_xdist_workers_and_removed_at_the_end(
    pytester: pytest.Pytester, tmp_path: Path, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project_root()
    pytester.makeconftest((root / "conftest.py").read_text(encoding="utf-8"))
    pytester.makefile(
        ".ini",
        pytest=(root / "pytest.ini")
        .read_text(encoding="utf-8")
        .replace("testpaths = suites\n", ""),
    )
    pytester.makepyfile(test_shared=WORKER_TESTS)
    seen = tmp_path / "seen.jsonl"
    monkeypatch.setenv("SEEN_FILE", str(seen))
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.syspath_prepend(str(root))
    args = ["-p", "no:cacheprovider", "-m", "integration"] + (
        ["-n", str(workers)] if workers else []
    )
    result = pytester.runpytest_subprocess(*args, timeout=300)
    result.assert_outcomes(passed=4)
    records = [json.loads(line) for line in seen.read_text().splitlines()]
    assert len({r["run"] for r in records}) == 1, records
    if workers:
        assert len({r["worker"] for r in records}) == 2, records
    (run_dir,) = list((tmp_path / "runs").iterdir())
    assert json.loads((run_dir / "manifest.json").read_text())["state"] == "down"
