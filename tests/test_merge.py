"""The three-way merge rule for documents, as plain functions."""

from __future__ import annotations

from sync.records import FieldConflict
from sync.server.merge import Version, merge

BASE = {"full_name": "Ngô Thị Sen", "birth_date": "1950", "sex": "female", "address": None,
        "phone": None, "cccd": None}


def v(version: int, device: str, conflicts: list | None = None, **changes: object) -> Version:
    return Version(version, BASE | changes, device, conflicts or [])


def test_disjoint_fields_merge_without_conflict():
    history = [v(1, "A"), v(2, "B", phone="0901234567")]
    merged = merge(kind="person", history=history, device_id="A",
                   changes={"address": "5 Lý Tự Trọng"}, new_version=3)
    assert merged.payload["phone"] == "0901234567"
    assert merged.payload["address"] == "5 Lý Tự Trọng"
    assert (merged.opened, merged.conflicts, merged.changed) == ([], [], True)


def test_the_same_field_changed_differently_keeps_both_values():
    history = [v(1, "A"), v(2, "B", address="1 Hàm Nghi")]
    merged = merge(kind="person", history=history, device_id="A",
                   changes={"address": "5 Lý Tự Trọng"}, new_version=3)
    assert merged.payload["address"] == "1 Hàm Nghi"  # the earlier value stays until a choice
    [conflict] = [FieldConflict.model_validate(c) for c in merged.conflicts]
    assert (conflict.field, conflict.opened_in) == ("address", 3)
    assert [(c.value, c.device_id) for c in conflict.values] == \
        [("1 Hàm Nghi", "B"), ("5 Lý Tự Trọng", "A")]


def test_the_same_value_on_both_sides_is_no_conflict_and_no_new_version():
    history = [v(1, "A"), v(2, "B", address="1 Hàm Nghi")]
    merged = merge(kind="person", history=history, device_id="A",
                   changes={"address": "1 Hàm Nghi"}, new_version=3)
    assert (merged.opened, merged.changed) == ([], False)


def test_a_devices_own_later_versions_are_not_conflicts_with_itself():
    history = [v(1, "A"), v(2, "A", address="1 Hàm Nghi")]
    merged = merge(kind="person", history=history, device_id="A",
                   changes={"address": "2 Hàm Nghi"}, new_version=3)
    assert (merged.payload["address"], merged.opened) == ("2 Hàm Nghi", [])


def test_a_choice_made_after_seeing_the_conflict_resolves_it_even_for_the_shown_value():
    opened = merge(kind="person", history=[v(1, "A"), v(2, "B", address="X")], device_id="A",
                   changes={"address": "Y"}, new_version=3)
    three = Version(3, opened.payload, "A", opened.conflicts)
    resolved = merge(kind="person", history=[three], device_id="C", changes={"address": "X"},
                     new_version=4)
    assert (resolved.payload["address"], resolved.conflicts, resolved.changed) == ("X", [], True)


def test_an_edit_that_had_not_seen_the_conflict_joins_it():
    opened = merge(kind="person", history=[v(1, "A"), v(2, "B", address="X")], device_id="A",
                   changes={"address": "Y"}, new_version=3)
    history = [v(1, "A"), v(2, "B", address="X"), Version(3, opened.payload, "A", opened.conflicts)]
    joined = merge(kind="person", history=history, device_id="C", changes={"address": "Z"},
                   new_version=4)
    [conflict] = [FieldConflict.model_validate(c) for c in joined.conflicts]
    assert [c.value for c in conflict.values] == ["X", "Y", "Z"]


def test_changes_valid_alone_but_not_together_are_put_up_for_choice():
    # One device corrects the birth year, another enters a CCCD that fits the old year:
    # the merged profile would break the CCCD rule, so both changes wait for a person.
    history = [v(1, "A", birth_date="1950"), v(2, "B", birth_date="1951")]
    merged = merge(kind="person", history=history, device_id="A",
                   changes={"cccd": "079150000123"}, new_version=3)
    assert merged.payload["cccd"] is None and merged.payload["birth_date"] == "1951"
    assert merged.opened == ["cccd"]
