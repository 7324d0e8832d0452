"""The one-pass readers of ``sync/wire.py`` accept and refuse exactly the documents the models
of ``sync/records.py`` and ``sync/protocol.py`` accept and refuse, and read the same values
from them: records of every kind, valid, nearly valid and hostile (Hypothesis), deletions,
conflicts, NUL characters and odd JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sync import wire
from sync.protocol import PullResponse, PushRequest
from sync.records import PAYLOAD_MODELS, EnteredBy, RecordData, RecordKind
from tests.schema_strategies import from_schema, nearly
from tests.test_push_fuzz import VALID

DEVICE = "device-0001"
FIELD_CONFLICT = {"field": "full_name", "opened_in": 2,
                  "values": [{"value": "A", "device_id": "d1", "version": 2},
                             {"value": "B", "device_id": "d2"}]}


def _records() -> st.SearchStrategy[dict[str, Any]]:
    texts = st.one_of(st.uuids().map(str), st.text(max_size=70))
    maybe = st.one_of(st.none(), st.uuids().map(str), st.text(max_size=40), st.integers())
    moments = st.one_of(
        st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2027, 1, 1),
                     timezones=st.just(UTC)).map(lambda d: d.isoformat()),
        st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00",
                         "2026-11-01", "yesterday", ""]), st.integers())

    def build(kind: RecordKind) -> st.SearchStrategy[dict[str, Any]]:
        schema = PAYLOAD_MODELS[kind].model_json_schema()
        payload = st.one_of(st.just(VALID[kind]), nearly(VALID[kind], schema),
                            from_schema(schema), st.dictionaries(st.text(max_size=8),
                                                                 st.integers(), max_size=3))
        return st.fixed_dictionaries({
            "id": texts, "kind": st.one_of(st.just(str(kind)), st.just(str(kind)),
                                           st.sampled_from(["nothing", "", 3])),
            "device_id": st.one_of(st.just(DEVICE), texts), "payload": payload,
            # Always given: left out, each reader stamps its own "now" (the same default).
            "created_at": moments,
        }, optional={
            "person_id": maybe, "household_id": maybe, "supersedes": maybe,
            "entered_by": st.one_of(st.sampled_from([str(e) for e in EnteredBy]), texts),
            "version": st.one_of(st.just(1), st.just(2), st.integers(-3, 2**70)),
            "parent_version": st.one_of(st.none(), st.integers(-3, 2**70)),
            "deleted": st.one_of(st.booleans(), st.sampled_from([0, 1, "true", "no", None])),
            "conflicts": st.one_of(st.just([]), st.just([FIELD_CONFLICT]),
                                   st.just([{"field": 1}])),
            "surplus": st.integers(),
        })

    return st.sampled_from(list(RecordKind)).flatmap(build)


def _push(records: list[dict[str, Any]]) -> bytes:
    return json.dumps({"device_id": DEVICE, "batch_id": "b1", "mutations": [
        {"mutation_id": f"m{n}", "op": "create", "record": r}
        for n, r in enumerate(records)]}).encode()


def _both(old: Any, new: Any, raw: bytes) -> None:
    """Both refuse, or both accept and read the same values."""
    try:
        expected = old(raw).model_dump(mode="json")
    except ValidationError:
        with pytest.raises(ValidationError):
            new(raw)
        return
    assert new(raw).model_dump(mode="json") == expected


@given(records=st.lists(_records(), min_size=1, max_size=3))
@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_a_push_body_is_read_as_the_models_read_it(records: list[dict[str, Any]]) -> None:
    _both(PushRequest.model_validate_json, wire.push_request, _push(records))


@given(records=st.lists(_records(), max_size=3), more=st.booleans())
@settings(max_examples=120, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_a_pull_page_is_read_as_the_models_read_it(records: list[dict[str, Any]],
                                                   more: bool) -> None:
    raw = json.dumps({"changes": records, "next_cursor": "c", "has_more": more,
                      "removed": ["p1"], "sources": {"source:x": "Trạm Y tế"}}).encode()
    _both(PullResponse.model_validate_json, wire.pull_response, raw)


@pytest.mark.parametrize("change", [
    {"kind": "person", "payload": {**VALID[RecordKind.PERSON], "full_name": "Lan\u0000"}},
    {"kind": "person", "payload": VALID[RecordKind.PERSON], "deleted": True,
     "id": "x\u0000"},
    {"kind": "observation", "payload": VALID[RecordKind.OBSERVATION], "version": 2},
    {"kind": "observation", "payload": VALID[RecordKind.OBSERVATION],
     "conflicts": [FIELD_CONFLICT]},
    {"kind": "person", "payload": {"anything": 1e308}, "deleted": True},
    {"kind": "person", "payload": VALID[RecordKind.PERSON], "conflicts": [FIELD_CONFLICT],
     "version": 3},
    {"kind": "declaration", "payload": VALID[RecordKind.DECLARATION], "deleted": "true"},
])
def test_the_edges_are_read_alike(change: dict[str, Any]) -> None:
    record = {"id": "r1", "device_id": DEVICE, "created_at": "2026-11-01T08:00:00+07:00",
              **change}
    _both(PushRequest.model_validate_json, wire.push_request, _push([record]))


def test_a_nul_is_refused_either_way() -> None:
    raw = _push([{"id": "r1", "kind": "person", "device_id": DEVICE, "created_at": "2026-11-01",
                  "payload": {**VALID[RecordKind.PERSON], "address": "12\u0000 Lê Lợi"}}])
    assert b"\\u0000" in raw
    with pytest.raises(ValidationError, match="NUL"):
        wire.push_request(raw)


def test_a_record_is_built_as_model_construct_builds_it() -> None:
    """wire._built skips pydantic's per-field walk; what it makes is the same object."""
    raw = _push([{"id": "p1", "kind": "person", "person_id": "p1", "device_id": DEVICE,
                  "payload": VALID[RecordKind.PERSON]}])
    built = wire.push_request(raw).mutations[0].record
    values = dict(built.__dict__)
    constructed = RecordData.model_construct(**values)
    assert built == constructed and type(built) is RecordData
    assert built.model_fields_set == constructed.model_fields_set
    assert built.__pydantic_extra__ == constructed.__pydantic_extra__
    assert built.__pydantic_private__ == constructed.__pydantic_private__
    assert built.model_dump_json() == constructed.model_dump_json()
