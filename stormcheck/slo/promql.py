"""Checking rewritten queries with Prometheus' own parser, through ``promtool``.

Queries are parsed and rewritten in-process (:mod:`stormcheck.slo.expressions`, the Rust port
of Prometheus' grammar); ``promtool check rules`` then checks what the engine will actually send,
so nothing Prometheus itself rejects reaches an evaluation. It parses every expression of a rule
file and reports each error with its group, so all queries of a validation run are checked in
one call: query ``i`` goes in as the group ``q<i>``, rewritten the way the engine uses it
(``sum(increase(...[5m]))``).
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

__all__ = ["QueryRef", "promtool_path", "query_problems"]

_ERROR = re.compile(r'group "q(\d+)", rule \d+, "[^"]*": (.*)$')
_POSITION = re.compile(r"^could not parse expression: (\d+):(\d+): parse error: (.*)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryRef:
    """A query, where it was written, and the PromQL the engine makes of it."""

    file: Path
    line: int | None
    field: str
    query: str
    rewritten: str


def promtool_path() -> str:
    """The ``promtool`` on PATH; :class:`ConfigError` saying how to install it when missing."""
    found = shutil.which("promtool")
    if found is None:
        raise ConfigError(
            "promtool is not on PATH: install Debian's `prometheus` package"
            " (scripts/bootstrap.sh does) to check PromQL and rule files"
        )
    return found


def query_problems(queries: Sequence[QueryRef], *, timeout_s: float = 30.0) -> list[Problem]:
    """A located :class:`Problem` for every query whose rewrite Prometheus does not accept."""
    if not queries:
        return []
    groups = [
        {
            "name": f"q{i}",
            "rules": [{"record": "stormcheck:check", "expr": ref.rewritten}],
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
    detail = message if position is None else position.group(3)
    return f"Prometheus rejects the query: {detail}: {query!r}"
