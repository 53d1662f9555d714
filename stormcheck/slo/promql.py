"""Checking PromQL with Prometheus' own parser, through ``promtool``.

There is no maintained PromQL parser for Python, and a home-made one would accept what Prometheus
rejects. ``promtool check rules`` parses every expression of a rule file and reports each error
with its group, so all queries of a validation run are checked in one call: query ``i`` goes in
as the group ``q<i>``, wrapped the way the engine uses it (``sum(increase(<query>[5m]))``) — so a
query that is not a plain series selector fails too ("ranges only allowed for vector selectors").
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from stormcheck.errors import ConfigError
from stormcheck.slo.yaml_source import Problem

__all__ = ["QueryRef", "promtool_path", "selector_problems"]

_PREFIX = "sum(increase("
_ERROR = re.compile(r'group "q(\d+)", rule \d+, "[^"]*": (.*)$')
_POSITION = re.compile(r"^could not parse expression: (\d+):(\d+): parse error: (.*)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryRef:
    """A query and where it was written."""

    file: Path
    line: int | None
    field: str
    query: str


def promtool_path() -> str:
    """The ``promtool`` on PATH; :class:`ConfigError` saying how to install it when missing."""
    found = shutil.which("promtool")
    if found is None:
        raise ConfigError(
            "promtool is not on PATH: install Debian's `prometheus` package"
            " (scripts/bootstrap.sh does) to check PromQL and rule files"
        )
    return found


def selector_problems(queries: Sequence[QueryRef], *, timeout_s: float = 30.0) -> list[Problem]:
    """A located :class:`Problem` for every query Prometheus cannot use as a counter selector."""
    if not queries:
        return []
    groups = [
        {
            "name": f"q{i}",
            "rules": [{"record": "stormcheck:check", "expr": f"{_PREFIX}{ref.query}[5m]))"}],
        }
        for i, ref in enumerate(queries)
    ]
    with tempfile.TemporaryDirectory(prefix="stormcheck-promql-") as tmp:
        rule_file = Path(tmp) / "queries.yml"
        rule_file.write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
        try:
            result = subprocess.run(
                [promtool_path(), "check", "rules", str(rule_file)],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ConfigError(f"promtool check rules took longer than {timeout_s:g} s") from None
    if result.returncode == 0:
        return []
    problems = []
    for line in (result.stdout + result.stderr).splitlines():
        match = _ERROR.search(line)
        if not match:
            continue
        ref = queries[int(match.group(1))]
        problems.append(
            Problem(
                file=ref.file,
                line=ref.line,
                field=ref.field,
                message=_explain(match.group(2), ref.query),
            )
        )
    if not problems:
        output = (result.stdout + result.stderr).strip()[:300]
        raise ConfigError(f"promtool check rules failed without a parse error: {output}")
    return problems


def _explain(message: str, query: str) -> str:
    position = _POSITION.match(message)
    if position is None:
        return f"not a valid PromQL selector ({message}): {query!r}"
    column = int(position.group(2)) - len(_PREFIX)
    if position.group(3) == "ranges only allowed for vector selectors":
        return f'must be a series selector such as name{{label="value"}}, got {query!r}'
    where = f" at column {column}" if 0 < column <= len(query) else ""
    return f"PromQL parse error{where}: {position.group(3)}: {query!r}"
