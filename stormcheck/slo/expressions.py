"""Counter queries as users write them, rewritten to the window the engine evaluates.

An SLO's good, bad or total query counts events. Users write it as a bare series selector
(``http_requests_total{code!~"5.."}``) or as a full expression whose counters sit inside
``rate``, ``increase`` or ``irate`` with any range, or Sloth's ``{{.window}}`` placeholder::

    sum(rate(http_requests_total{handler="/checkout",status!~"5.."}[5m]))
    sum by (handler) (increase(http_requests_total[1h]))
    sum(rate(a_total[{{.window}}])) + sum(rate(b_total[{{.window}}]))

The engine parses the query with Prometheus' grammar (``promql_parser``, the Rust port of
Prometheus' parser) and renders it again with every ``rate``/``increase``/``irate`` replaced by
``increase`` over the evaluated window (a count of events, for the verdict) or ``rate`` over a
rule window (for the recording rules and burn-rate alerts), under one ``sum``. So the range the
author wrote does not matter: the same file gives the same SLI over any window. ``irate`` (the
rate between the last two samples) becomes the window's ``increase`` as well — an SLI over a
window counts every event in it.

Accepted: series selectors inside ``rate``/``increase``/``irate``; ``sum``, ``sum by``,
``sum without`` around them; ``+`` and ``-`` between such expressions (with ``on``/``ignoring``
matching), ``*`` and ``/`` by a number; parentheses. Refused, with the reason (:class:`QueryError`),
because no rewrite keeps their meaning: a series read as a gauge (outside those functions), any
other function (``histogram_quantile``, ``*_over_time``, ``delta``, ...), other aggregations,
subqueries, ``offset`` and ``@``, comparison and set operators, and template placeholders other
than ``{{.window}}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import promql_parser as pp

__all__ = [
    "COUNTER_FUNCTIONS",
    "CounterQuery",
    "QueryError",
    "parse_counter_query",
    "quote_label_value",
    "render_selector",
]

COUNTER_FUNCTIONS = frozenset({"rate", "increase", "irate"})
_GAUGE_FUNCTIONS = frozenset({"delta", "idelta", "deriv", "predict_linear", "resets", "changes"})
_PLACEHOLDER = re.compile(r"\{\{\s*\.window\s*\}\}")
_TEMPLATE = re.compile(r"\{\{.*?\}\}")
_PLACEHOLDER_RANGE = "5m"  # any valid range: every range is rewritten anyway
# MatchOp values are not hashable: a list of pairs, compared with ==.
_OPS = (
    (pp.MatchOp.Equal, "="),
    (pp.MatchOp.NotEqual, "!="),
    (pp.MatchOp.Re, "=~"),
    (pp.MatchOp.NotRe, "!~"),
)


class QueryError(ValueError):
    """A query the engine cannot use as a counter query; the message says why, in one line."""


def quote_label_value(value: str) -> str:
    """``value`` as a PromQL string literal (double quotes, backslashes escaped)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _op(op: Any) -> str:
    return next(text for known, text in _OPS if known == op)


def render_selector(selector: Any, extra: str = "", *, name: str | None = None) -> str:
    """A series selector as PromQL text (``name{a="b",c=~"x"}``), values escaped.

    ``extra`` is one more matcher (``le="1"``); ``name`` replaces the metric name.
    """
    metric = selector.name if name is None else name
    matchers = [
        f"{m.name}{_op(m.op)}{quote_label_value(m.value)}"
        for m in selector.matchers.matchers
        if not (metric and m.name == "__name__")
    ]
    if extra:
        matchers.append(extra)
    body = "{" + ",".join(matchers) + "}" if matchers else ""
    return f"{metric or ''}{body}" if metric or body else "{}"


def _unsupported_function(name: str) -> str:
    if name == "histogram_quantile":
        return (
            "histogram_quantile gives a percentile, not a count of events; count the requests"
            ' at or under the threshold instead: good = the _bucket series with le="<seconds>",'
            " total = its _count (or use thresholdMetric)"
        )
    if name.endswith("_over_time") or name in _GAUGE_FUNCTIONS:
        return f"{name} reads a gauge; a ratio SLI counts events with counters (rate/increase)"
    return (
        f"function {name} cannot be rewritten to the evaluated window; expected rate, increase"
        " or irate of counters"
    )


@dataclass(frozen=True, slots=True)
class _Renderer:
    """Renders an accepted tree, each counter as ``function(selector[window])``."""

    function: str | None  # None: keep each call's own function
    window: str | None  # None: keep each call's own range
    selector: Callable[[Any], str] = render_selector

    def render(self, node: Any, *, top: bool = False) -> str:
        if isinstance(node, pp.VectorSelector):
            self._check_selector(node)
            if top:
                return self._counter("increase", node, None)
            raise QueryError(
                f"series {render_selector(node)} is read as a gauge here; put it inside"
                " rate(), increase() or irate() (a ratio SLI counts events with counters)"
            )
        if isinstance(node, pp.ParenExpr):
            return f"({self.render(node.expr)})"
        if isinstance(node, pp.NumberLiteral):
            return repr(float(node.val))
        if isinstance(node, pp.AggregateExpr):
            return self._aggregate(node)
        if isinstance(node, pp.BinaryExpr):
            return self._binary(node)
        if isinstance(node, pp.Call):
            return self._call(node)
        if isinstance(node, pp.SubqueryExpr):
            raise QueryError("a subquery cannot be rewritten to the evaluated window")
        if isinstance(node, pp.MatrixSelector):
            raise QueryError(
                "a range selector must sit inside rate(), increase() or irate() to count events"
            )
        if isinstance(node, pp.UnaryExpr):
            raise QueryError("a negated expression does not count events")
        raise QueryError(f"{type(node).__name__} is not a count of events")

    def _check_selector(self, node: Any) -> None:
        if node.offset is not None:
            raise QueryError(
                "offset shifts the range away from the window the engine evaluates; remove it"
            )
        if node.at is not None:
            raise QueryError("@ pins the range to a fixed time; remove it")
        if node.matchers.or_matchers:
            raise QueryError("'or' inside a selector's braces is not supported; use =~")

    def _counter(self, function: str, selector: Any, window: str | None) -> str:
        span = self.window if self.window is not None else window
        use = self.function if self.function is not None else function
        return f"{use}({self.selector(selector)}[{span or _PLACEHOLDER_RANGE}])"

    def _aggregate(self, node: Any) -> str:
        op = str(node.op)
        if op != "sum":
            raise QueryError(
                f"aggregation {op} does not keep counts additive; only sum and sum by are accepted"
            )
        inner = self.render(node.expr)
        if node.modifier is None:
            return f"sum({inner})"
        kind = "by" if node.modifier.type == pp.AggModifierType.By else "without"
        return f"sum {kind} ({', '.join(node.modifier.labels)}) ({inner})"

    def _binary(self, node: Any) -> str:
        op = str(node.op)
        if op not in {"+", "-", "*", "/"}:
            raise QueryError(
                f"operator {op} is not arithmetic on counts; only +, - and * or / by a number"
                " are accepted"
            )
        modifier = node.modifier
        if modifier is not None and modifier.return_bool:
            raise QueryError("bool modifiers compare values; they do not count events")
        if op in {"*", "/"} and not (_is_number(node.lhs) or _is_number(node.rhs)):
            raise QueryError(
                f"{op} between two series is not a count of events; scale by a number only"
            )
        lhs, rhs = self.render(node.lhs), self.render(node.rhs)
        matching = f" {modifier} " if modifier is not None and str(modifier).strip() else " "
        return f"{lhs} {op}{matching}{rhs}"

    def _call(self, node: Any) -> str:
        name = node.func.name
        if name not in COUNTER_FUNCTIONS:
            raise QueryError(_unsupported_function(name))
        (argument,) = node.args
        if isinstance(argument, pp.SubqueryExpr):
            raise QueryError(f"a subquery inside {name}() cannot be rewritten to the window")
        if not isinstance(argument, pp.MatrixSelector):
            raise QueryError(f"{name}() must take a range selector such as x_total[5m]")
        self._check_selector(argument.vector_selector)
        seconds = argument.range.total_seconds()
        return self._counter(name, argument.vector_selector, _duration(seconds))


def _is_number(node: Any) -> bool:
    while isinstance(node, pp.ParenExpr):
        node = node.expr
    return isinstance(node, pp.NumberLiteral)


def _duration(seconds: float) -> str:
    whole = round(seconds * 1000)
    if whole % 1000:
        return f"{whole}ms"
    whole //= 1000
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def _balance_error(text: str) -> str | None:
    """Where brackets do not pair up (outside strings), as ``... at column N``; else ``None``."""
    pairs = {")": "(", "]": "[", "}": "{"}
    names = {"(": "parenthesis", "[": "bracket", "{": "brace"}
    stack: list[tuple[str, int]] = []
    quote: str | None = None
    escaped = False
    for column, char in enumerate(text, 1):
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
            continue
        if char in "\"'`":
            quote = char
        elif char in names:
            stack.append((char, column))
        elif char in pairs:
            if not stack or stack[-1][0] != pairs[char]:
                return (
                    f"unbalanced {names[pairs[char]]}: {char!r} at column {column} closes nothing"
                )
            stack.pop()
    if quote is not None:
        return "unterminated string"
    if stack:
        opener, column = stack[-1]
        return f"unbalanced {names[opener]}: {opener!r} at column {column} is never closed"
    return None


@lru_cache(maxsize=512)
def _parse(text: str) -> Any:
    """The tree of ``text`` with ``{{.window}}`` filled in; :class:`QueryError` if not PromQL."""
    filled = _PLACEHOLDER.sub(_PLACEHOLDER_RANGE, text)
    other = _TEMPLATE.search(filled)
    if other is not None:
        raise QueryError(
            f"template placeholder {other.group(0)} is not supported; only {{{{.window}}}} is"
        )
    balance = _balance_error(filled)
    if balance is not None:
        raise QueryError(f"PromQL syntax error: {balance}")
    try:
        return pp.parse(filled)
    except (ValueError, TypeError) as exc:
        raise QueryError(f"PromQL syntax error: {exc}") from None


@dataclass(frozen=True, slots=True)
class CounterQuery:
    """A good, bad or total query as written, and its rewrites to a window."""

    text: str

    @property
    def is_selector(self) -> bool:
        """Whether the query is a bare series selector (the engine adds ``increase``)."""
        return isinstance(_parse(self.text), pp.VectorSelector)

    def _rendered(self, function: str, window: str) -> str:
        tree = _parse(self.text)
        body = _Renderer(function, window).render(tree, top=True)
        if isinstance(tree, pp.AggregateExpr) and tree.modifier is None:
            return body  # already one sum
        return f"sum({body})"

    def increase(self, window: str) -> str:
        """PromQL for the number of events in the ``window`` before the evaluation time."""
        return self._rendered("increase", window)

    def rate(self, window: str) -> str:
        """PromQL for the events per second over ``window``."""
        return self._rendered("rate", window)

    def selectors(self) -> tuple[str, ...]:
        """The counter series selectors of the query, as PromQL text, in order."""
        found: list[str] = []

        def visit(node: Any) -> bool:
            if isinstance(node, pp.VectorSelector):
                found.append(render_selector(node))
            return True

        pp.walk(_parse(self.text), pre_visit=visit)
        return tuple(dict.fromkeys(found))

    def mapped(self, selector: Callable[[Any], str]) -> CounterQuery:
        """The same query with each series selector rendered by ``selector`` (ranges kept)."""
        tree = _parse(self.text)
        if isinstance(tree, pp.VectorSelector):
            _Renderer(None, None)._check_selector(tree)
            return CounterQuery(selector(tree))
        return CounterQuery(_Renderer(None, None, selector).render(tree, top=True))


def parse_counter_query(text: str) -> CounterQuery:
    """``text`` as a :class:`CounterQuery`; :class:`QueryError` saying why it cannot be one."""
    query = CounterQuery(text)
    query.increase("5m")  # renders the whole tree: every refusal is raised here
    return query
