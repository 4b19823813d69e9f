"""The complaint snapshot and its changes name the complaint table's columns, so no migration leaves them behind."""

from __future__ import annotations

from typing import get_type_hints

from workflow.adapters.models import COMPLAINTS
from workflow.adapters.records import SNAPSHOT_FIELDS, ComplaintChanges


def test_the_snapshot_has_exactly_the_complaint_columns():
    assert sorted(SNAPSHOT_FIELDS) == sorted(column.name for column in COMPLAINTS.columns)


def test_a_change_names_only_columns_and_never_the_ones_the_writer_keeps():
    changeable = set(get_type_hints(ComplaintChanges))
    assert changeable <= {column.name for column in COMPLAINTS.columns}
    assert not changeable & {"id", "number", "version", "updated_at", "created_at", "created_by_id"}
