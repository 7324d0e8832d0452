"""Push and pull bodies read in one pass: the envelope and each record's payload validated
together, from the raw JSON, by pydantic-core.

``RecordData`` validates a record's payload as a free ``dict``, then again as its kind's model,
then dumps it back: three passes over every payload. Here the same checks run once, through a
union of one model per kind, tagged by the record's ``kind`` (or ``deleted``). Those models are
made here, by code, from ``sync/records.py`` — ``RecordData``'s fields and checks for the
envelope, ``PAYLOAD_MODELS`` for the payloads — so each record kind keeps one definition;
``tests/test_wire.py`` proves both accept and refuse exactly the same documents.

NUL characters: JSON can carry one only as the escape ``\\u0000``, so the bytes are scanned for
it and the nested models' walk is skipped when it is absent.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Tag,
    TypeAdapter,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from sync.protocol import Mutation, PullResponse, PushRequest
from sync.records import (
    PAYLOAD_MODELS,
    FieldConflict,
    RecordData,
    RecordKind,
    check_created_at,
    check_envelope,
    check_version,
    nul_checked,
    reject_non_finite,
)

M = TypeVar("M", bound=BaseModel)
_BOOL: TypeAdapter[bool] = TypeAdapter(bool)
_KIND_OF = {kind.value: kind for kind in RecordKind}
_RECORD_FIELDS = tuple(RecordData.model_fields)
# The envelope's own fields, exactly as RecordData declares them (constraints and defaults).
_ENVELOPE: dict[str, Any] = {
    name: (info.annotation, info) for name, info in RecordData.model_fields.items()
    if name not in ("kind", "payload", "conflicts")}


class _Envelope(BaseModel):
    """RecordData's checks, for the models made below."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("created_at", check_fields=False)
    @classmethod
    def _created_at(cls, value: Any) -> Any:
        return check_created_at(value)

    @field_validator("version", "parent_version", check_fields=False)
    @classmethod
    def _version(cls, value: Any) -> Any:
        return check_version(value)

    @model_validator(mode="after")
    def _kind_rules(self) -> _Envelope:
        values = self.__dict__
        check_envelope(_KIND_OF[values["kind"]], values["version"],
                       bool(values["conflicts"]))
        if values["deleted"]:
            reject_non_finite(values["payload"])
        return self


def _model(tag: str, kind: Any, payload: Any, deleted: Any) -> type[_Envelope]:
    return create_model(
        f"Wire_{tag}", __base__=_Envelope, kind=(kind, ...), payload=(payload, ...),
        deleted=(deleted, False), conflicts=(list[FieldConflict], []),
        **{k: v for k, v in _ENVELOPE.items() if k != "deleted"})


def _tag(data: Any) -> str | None:
    """Which model reads a record: ``deleted`` for a deletion (its payload is not checked
    against its kind), else its kind."""
    get = data.get if isinstance(data, dict) else (lambda key, d=None: getattr(data, key, d))
    try:
        deleted = _BOOL.validate_python(get("deleted", False))
    except ValidationError:
        deleted = False  # the kind's model refuses the value with RecordData's words
    if deleted:
        return "deleted"
    kind = get("kind")
    return kind.value if isinstance(kind, RecordKind) else kind if isinstance(kind, str) \
        else None


_KINDS = {kind.value: _model(kind.value, Literal[kind.value], PAYLOAD_MODELS[kind], bool)
          for kind in RecordKind}
_DELETED = _model("deleted", RecordKind, dict[str, Any], bool)
WireRecord: Any = Annotated[
    Union[tuple(Annotated[m, Tag(t)] for t, m in  # noqa: UP007 (a union built from a tuple)
                (*_KINDS.items(), ("deleted", _DELETED)))],
    Discriminator(_tag)]


def _message(base: type[BaseModel], **replaced: Any) -> type[BaseModel]:
    """``base`` with some fields' types replaced (a record by the union above)."""
    fields = {name: (replaced.get(name, info.annotation), info)
              for name, info in base.model_fields.items()}
    return create_model(f"Wire{base.__name__}",  # type: ignore[call-overload, no-any-return]
                        __config__=ConfigDict(extra="forbid"), **fields)


_MUTATION = _message(Mutation, record=WireRecord)
_PUSH = _message(PushRequest, mutations=list[_MUTATION])  # type: ignore[valid-type]
_PULL = _message(PullResponse, changes=list[WireRecord])


def record(wired: Any) -> RecordData:
    """The ``RecordData`` a validated wire record stands for (no further check)."""
    given = wired.__dict__
    values = {name: given[name] for name in _RECORD_FIELDS}  # in RecordData's order
    payload = values["payload"]
    values["kind"] = _KIND_OF[values["kind"]]
    values["payload"] = payload if values["deleted"] else payload.model_dump(mode="json")
    values["conflicts"] = [c.model_dump(mode="json") for c in values["conflicts"]]
    return _built(RecordData, values)


def _built(model: type[M], values: dict[str, Any]) -> M:
    """``model.model_construct(**values)`` for values that name every field, as a validated
    wire record's do; pydantic's own walks each field's aliases and defaults (4 µs a record)."""
    built = model.__new__(model)
    object.__setattr__(built, "__dict__", values)
    object.__setattr__(built, "__pydantic_fields_set__", set(values))
    object.__setattr__(built, "__pydantic_extra__", None)
    object.__setattr__(built, "__pydantic_private__", None)
    return built


def _checked(model: type[BaseModel], raw: bytes) -> Any:
    if b"\\u0000" in raw or b"\x00" in raw:
        return None  # walked the slow way, which names the field
    with nul_checked():
        return model.model_validate_json(raw)


def push_request(raw: bytes) -> PushRequest:
    """A push body, validated once (``ValidationError`` as ``PushRequest`` would raise)."""
    wired = _checked(_PUSH, raw)
    if wired is None:
        return PushRequest.model_validate_json(raw)
    return PushRequest.model_construct(
        device_id=wired.device_id, batch_id=wired.batch_id,
        schema_version=wired.schema_version,
        mutations=[_built(Mutation, {
            "mutation_id": m.mutation_id, "op": m.op, "base_version": m.base_version,
            "changed_fields": m.changed_fields, "record": record(m.record)})
            for m in wired.mutations])


def pull_response(raw: bytes) -> PullResponse:
    """A pull page, validated once (``ValidationError`` as ``PullResponse`` would raise)."""
    wired = _checked(_PULL, raw)
    if wired is None:
        return PullResponse.model_validate_json(raw)
    values = dict(wired.__dict__)
    values["changes"] = [record(r) for r in values["changes"]]
    return PullResponse.model_construct(**values)
