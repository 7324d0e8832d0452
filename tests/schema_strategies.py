"""Hypothesis strategies from the JSON schemas pydantic writes for our models: the subset it
uses (objects, anyOf, enums, consts, arrays, $ref into $defs, string formats, bounds).

Values are drawn mostly inside the schema and sometimes just outside or at the extremes a
hostile client would try (year 1 and 9999, 64-bit overflow, empty and very long text), since
the point is to find what the server cannot store, not only what it accepts.
(hypothesis-jsonschema would do the first half, but its release does not run on this
Hypothesis.)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

EXTREME_INTS = [0, -1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 2**70]
EXTREME_FLOATS = [0.0, -0.0, 1e-300, 1e300, -1e300, 1.7976931348623157e308]
EXTREME_DATES = ["0001-01-01", "1899-12-31", "1900-01-01", "2026-02-29", "9999-12-31"]
EXTREME_TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00",
                 "1900-01-01T00:00:00", "2026-11-01T08:00:00+07:00"]


def _mostly(inside: st.SearchStrategy[Any], edges: st.SearchStrategy[Any]
            ) -> st.SearchStrategy[Any]:
    """Nine draws in ten inside the schema, so that whole records often pass and reach the
    server's deeper paths; the tenth at an edge."""
    return st.one_of(*([inside] * 9), edges)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values for ``schema`` (a pydantic ``model_json_schema()``), edges included."""
    return _build(schema, schema.get("$defs", {}))


def _build(node: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return st.deferred(lambda: _build(defs[name], defs))
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return _mostly(st.sampled_from(node["enum"]), st.text(max_size=12))
    if "anyOf" in node:
        return st.one_of([_build(branch, defs) for branch in node["anyOf"]])
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        return _object(node, defs)
    if kind == "array":
        items = _build(node.get("items", {}), defs)
        return st.lists(items, max_size=min(node.get("maxItems", 4), 4))
    if kind == "string":
        return _string(node)
    if kind == "integer":
        low, high = node.get("minimum"), node.get("maximum")
        inside = st.integers(low, high) if low is not None or high is not None \
            else st.integers(-1000, 1000)
        return _mostly(inside, st.sampled_from(EXTREME_INTS))
    if kind == "number":
        inside = st.floats(node.get("minimum"), node.get("maximum"), allow_nan=False,
                           allow_infinity=False)
        return _mostly(inside, st.sampled_from(EXTREME_FLOATS))
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10))


def nearly(example: dict[str, Any], schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid ``example`` with one field swapped for an edge value of its type (NaN and
    infinities included: Python's JSON writes them, and a careless server reads them)."""
    properties = schema.get("properties", {})
    return st.sampled_from(sorted(properties)).flatmap(
        lambda name: _edge(properties[name], schema.get("$defs", {})).map(
            lambda value: {**example, name: value}))


def _edge(node: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "$ref" in node:
        return _edge(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in node:
        return st.one_of([_edge(b, defs) for b in node["anyOf"] if b.get("type") != "null"]
                         or [st.none()])
    kind, form = node.get("type"), node.get("format")
    if form == "date":
        return st.sampled_from(EXTREME_DATES)
    if form == "date-time":
        return st.sampled_from(EXTREME_TIMES)
    if kind == "integer":
        return st.sampled_from(EXTREME_INTS)
    if kind == "number":
        return st.sampled_from([*EXTREME_FLOATS, float("nan"), float("inf"), -float("inf")])
    if kind == "string":
        return st.sampled_from(["", "\x00", "x" * 5000, "=1+1"])
    return st.sampled_from([None, [], {}, "x", 2**64])


def _object(node: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    properties = node.get("properties", {})
    required = set(node.get("required", []))
    strategies = {name: _build(sub, defs) for name, sub in properties.items()}
    base = st.fixed_dictionaries(
        {n: s for n, s in strategies.items() if n in required},
        optional={n: s for n, s in strategies.items() if n not in required})
    # Now and then a field the schema does not know, or one it requires left out.
    return _mostly(base, st.one_of(
        base.map(lambda d: {**d, "unexpected": 1}),
        base.flatmap(lambda d: st.sampled_from(sorted(d) or [""]).map(
            lambda k: {n: v for n, v in d.items() if n != k}))))


def _string(node: dict[str, Any]) -> st.SearchStrategy[str]:
    form = node.get("format")
    if form == "date":
        inside = st.dates(date(1900, 1, 1), date.today() + timedelta(days=300))
        return _mostly(inside.map(date.isoformat), st.sampled_from(EXTREME_DATES))
    if form == "date-time":
        inside = st.datetimes(datetime(1900, 1, 2), datetime(2027, 6, 1),
                              timezones=st.just(UTC)).map(datetime.isoformat)
        return _mostly(inside, st.sampled_from(EXTREME_TIMES))
    low, high = node.get("minLength", 0), node.get("maxLength", 40)
    plausible = st.sampled_from(["1950", "1950-04-05", "Nguyễn Thị Lan", "0912345678",
                                 "079150001234", "12 Lê Lợi"])
    # Just over the limit: drawn for limits Hypothesis can draw past; a longer one (a photo)
    # is passed by one repeated character.
    over = (st.text(min_size=high + 1, max_size=high + 3) if high < 4000
            else st.sampled_from(["x", "ệ"]).map(lambda c: c * (high + 1)))
    return _mostly(st.one_of(st.text(min_size=low, max_size=min(high, 40)), plausible),
                   st.one_of(over, st.sampled_from(["", "\x00", "=cmd|' /C calc'!A0"])))
