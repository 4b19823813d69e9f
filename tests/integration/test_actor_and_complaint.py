"""A transition reads the acting user and the complaint in one statement; what it finds and refuses is what the
two lookups apart find and refuse."""

from __future__ import annotations

import pytest

from tests.conftest import file_one
from workflow.adapters.records import load_complaint
from workflow.domain.errors import InvalidInput, NotFound, PermissionDenied
from workflow.services import lifecycle as svc
from workflow.services.handover import deactivate_user
from workflow.services.people import acting_user, acting_user_and_complaint


def test_the_joined_read_finds_what_the_two_lookups_find(app):
    number = file_one(app)
    with app.uow(write=False) as uow:
        complaint = load_complaint(uow.session, number)
        for ref in (number, number.lower(), str(complaint.id), complaint.id):
            user, found = acting_user_and_complaint(uow.session, "amy", ref)
            expected = acting_user(uow.session, "amy")
            assert (user.id, user.name, user.role, user.deactivated_at, user.is_system) == tuple(expected)
            assert found == complaint


def test_the_joined_read_refuses_as_the_two_lookups_do(app):
    number = file_one(app)
    with app.uow(write=False) as uow:
        session = uow.session
        with pytest.raises(NotFound, match="no user 'ghost'"):
            acting_user_and_complaint(session, "ghost", number)
        with pytest.raises(NotFound, match="no user 'ghost'"):  # the user is looked up first, as before
            acting_user_and_complaint(session, "ghost", "hello")
        with pytest.raises(InvalidInput, match="no acting user"):
            acting_user_and_complaint(session, None, number)
        with pytest.raises(InvalidInput, match="is not a complaint number"):
            acting_user_and_complaint(session, "amy", "hello")
        with pytest.raises(NotFound, match="no complaint C-20991231-0001"):
            acting_user_and_complaint(session, "amy", "C-20991231-0001")
        with pytest.raises(NotFound, match="no complaint 99999999999"):
            acting_user_and_complaint(session, "amy", "99999999999")


def test_a_deactivated_user_can_no_longer_move_a_complaint(app):
    number = file_one(app, actor="bob")
    deactivate_user(app, "boss", "amy", reason="left the company")
    with pytest.raises(PermissionDenied, match="can no longer act"):
        svc.triage(app, "amy", number)
    assert svc.triage(app, "bob", number).to_state == "triaged"
