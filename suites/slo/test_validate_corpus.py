"""``stormcheck slo validate`` rejects malformed SLO files with one located line each, no traceback.

Every case names the line and field the error must point at. The PromQL cases need promtool
(integration); the rest are pure file checks (static).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from stormcheck.cli import build_cli
from stormcheck.paths import project_root
from stormcheck.slo.loader import read_slo_files
from suites.slo.documents import slo_document

GOOD = 'http_requests_total{code!~"5.."}'
TOTAL = "http_requests_total"
VALID = slo_document("shop-availability", GOOD, TOTAL)
LINES = VALID.splitlines()


def _line_of(text: str) -> int:
    return next(i for i, line in enumerate(LINES, 1) if text in line)


def _replace(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, 1)


BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]"
        for i in range(8)
    ]
)

# id -> (file content, line the error points at, field it names). A missing field is reported
# at the first line of the mapping that lacks it.
CORPUS: dict[str, tuple[str | bytes, int | None, str]] = {
    "wrong-api-version": (_replace("openslo/v1", "openslo/v2"), 1, "apiVersion"),
    "wrong-kind": (_replace("kind: SLO", "kind: SLI"), 2, "kind"),
    "missing-metadata-name": (
        _replace("  name: shop-availability\n", "  displayName: x\n"),
        4,
        "metadata.name",
    ),
    "name-not-dns-label": (
        _replace("name: shop-availability", "name: Shop_Availability"),
        4,
        "metadata.name",
    ),
    "missing-service": (_replace("  service: shop\n", ""), _line_of("spec:") + 1, "spec.service"),
    "unknown-spec-field": (
        _replace("  service: shop\n", "  service: shop\n  objectve: 1\n"),
        _line_of("service:") + 1,
        "spec.objectve",
    ),
    "duplicate-key": (
        _replace("  service: shop\n", "  service: shop\n  service: cart\n"),
        _line_of("service:") + 1,
        "spec.service",
    ),
    "budgeting-timeslices": (
        _replace("Occurrences", "Timeslices"),
        _line_of("Occurrences"),
        "spec.budgetingMethod",
    ),
    "calendar-window": (
        _replace("isRolling: true", "isRolling: false"),
        _line_of("isRolling"),
        "spec.timeWindow[0].isRolling",
    ),
    "unknown-duration-unit": (
        _replace("duration: 1d", "duration: 1y"),
        _line_of("duration:"),
        "spec.timeWindow[0].duration",
    ),
    "duration-not-a-duration": (
        _replace("duration: 1d", "duration: forever"),
        _line_of("duration:"),
        "spec.timeWindow[0].duration",
    ),
    "two-windows": (
        _replace(
            "      isRolling: true\n",
            "      isRolling: true\n    - duration: 7d\n      isRolling: true\n",
        ),
        _line_of("timeWindow:") + 1,
        "spec.timeWindow",
    ),
    "target-one": (
        _replace("target: 0.99", "target: 1"),
        _line_of("target:"),
        "spec.objectives[0].target",
    ),
    "target-zero": (
        _replace("target: 0.99", "target: 0"),
        _line_of("target:"),
        "spec.objectives[0].target",
    ),
    "target-string": (
        _replace("target: 0.99", "target: high"),
        _line_of("target:"),
        "spec.objectives[0].target",
    ),
    "target-nan": (
        _replace("target: 0.99", "target: .nan"),
        _line_of("target:"),
        "spec.objectives[0].target",
    ),
    "target-percent-over-100": (
        _replace("target: 0.99", "targetPercent: 150"),
        _line_of("target:"),
        "spec.objectives[0].targetPercent",
    ),
    "no-objectives": (
        _replace("    - target: 0.99\n", "    []\n").replace(
            "  objectives:\n    []", "  objectives: []"
        ),
        _line_of("objectives:"),
        "spec.objectives",
    ),
    "counter-false": (
        _replace("counter: true", "counter: false"),
        _line_of("counter:"),
        "ratioMetric.counter",
    ),
    "missing-total": (
        VALID.split("        total:")[0],
        _line_of("ratioMetric:") + 1,
        "ratioMetric.total",
    ),
    "non-prometheus-source": (
        _replace("type: Prometheus", "type: Datadog"),
        _line_of("type: Prometheus"),
        "good.metricSource.type",
    ),
    "empty-query": (
        _replace(f"query: '{GOOD}'", "query: ''"),
        _line_of(GOOD),
        "good.metricSource.spec.query",
    ),
    "indicator-ref": (
        _replace("  indicator:\n", "  indicatorRef: other\n  indicator:\n"),
        _line_of("  indicator:"),
        "spec.indicatorRef",
    ),
    "unbalanced-braces": (
        _replace(f"query: '{GOOD}'", "query: 'http_requests_total{code=\"200\"'"),
        _line_of(GOOD),
        "good.metricSource.spec.query",
    ),
    "top-level-list": ("- a\n- b\n", 1, "document"),
    "alias-bomb": (BILLION_LAUGHS, 2, ""),
    "binary": (b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)), 1, ""),
    "not-utf8": (b"apiVersion: openslo/v1\nkind: \xff\xfeSLO\n", 2, ""),
    "broken-yaml": (_replace("  service: shop\n", "  service: [shop\n"), None, ""),
    "empty-file": ("", None, ""),
    "too-large": ("# " + "x" * 300_000 + "\n" + VALID, None, ""),
}

# Queries Prometheus' grammar accepts in-process but Prometheus itself rejects: found by promtool.
PROMQL_CORPUS: dict[str, tuple[str, int, str]] = {
    "only-empty-matchers": (
        _replace("query: 'http_requests_total'", "query: '{code=~\".*\"}'"),
        _line_of("query: 'http_requests_total'"),
        "total.metricSource.spec.query",
    ),
}

LOCATED = re.compile(r"^(?P<file>[^:]+\.yaml)(:(?P<line>\d+))?: (?P<rest>.+)$")


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / f"{name}.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _check(path: Path, output: str, line: int | None, field: str) -> None:
    lines = [entry for entry in output.splitlines() if entry.startswith(str(path))]
    assert lines, f"no error for {path.name}:\n{output}"
    assert "Traceback" not in output
    matched = [LOCATED.match(entry) for entry in lines]
    assert all(matched), lines
    if line is not None:
        assert any(m and m.group("line") == str(line) for m in matched), (line, lines)
    assert any(field in entry for entry in lines), (field, lines)


@pytest.mark.static
def test_the_valid_base_document_is_valid(tmp_path: Path) -> None:
    result = read_slo_files([_write(tmp_path, "valid", VALID)], check_promql=False)
    assert result.problems == () and [s.name for s in result.slos] == ["shop-availability"]


@pytest.mark.static
@pytest.mark.parametrize("case", sorted(CORPUS))
def test_malformed_file_is_rejected_with_a_located_line(tmp_path: Path, case: str) -> None:
    content, line, field = CORPUS[case]
    path = _write(tmp_path, case, content)
    result = CliRunner().invoke(build_cli(), ["slo", "validate", "--no-promql", str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    _check(path, result.stdout, line, field)


@pytest.mark.static
def test_corpus_has_at_least_twenty_cases() -> None:
    assert len(CORPUS) + len(PROMQL_CORPUS) >= 20


@pytest.mark.static
def test_duplicate_names_across_files_point_at_the_second(tmp_path: Path) -> None:
    first = _write(tmp_path, "a", VALID)
    second = _write(tmp_path, "b", VALID)
    result = read_slo_files([first, second], check_promql=False)
    (problem,) = result.problems
    assert problem.file == second and problem.line == 1 and problem.field == "metadata.name"
    assert f"{first}:1" in problem.message


@pytest.mark.integration
def test_whole_corpus_in_one_process_exits_1_without_traceback(tmp_path: Path) -> None:
    paths = [_write(tmp_path, name, content) for name, (content, _, _) in CORPUS.items()]
    paths += [_write(tmp_path, name, content) for name, (content, _, _) in PROMQL_CORPUS.items()]
    done = subprocess.run(
        [sys.executable, "-m", "stormcheck", "slo", "validate", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=project_root(),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    for name, (_, line, field) in {**CORPUS, **PROMQL_CORPUS}.items():
        _check(tmp_path / f"{name}.yaml", done.stdout, line, field)
    assert all(LOCATED.match(entry) for entry in done.stdout.splitlines()), done.stdout


@pytest.mark.integration
@pytest.mark.parametrize("case", sorted(PROMQL_CORPUS))
def test_promql_that_prometheus_rejects_is_located(tmp_path: Path, case: str) -> None:
    content, line, field = PROMQL_CORPUS[case]
    path = _write(tmp_path, case, content)
    result = read_slo_files([path])
    assert result.slos == ()
    _check(path, "\n".join(map(str, result.problems)), line, field)
