"""Who acts on a direct database seat, through the installed command, where the config does not trust claims.

There the acting user is the operating-system account mapped to a member of staff, nothing else: `--as` and
REDRESS_USER are refused, an unmapped or a deactivated account cannot act, and reading needs an identity too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import CONFIG, OS_ACCOUNT, staffed_database
from tests.e2e.test_cli import as_json, assert_one_line_error, redress

# The PostgreSQL run of each test here is in the full run only (`pytest -m slow`).
pytestmark = pytest.mark.full_run_on_postgres

UNTRUSTED = "--as and REDRESS_USER are not trusted by this config (identity.trust_claims is false)"
UNMAPPED = f"no acting user: the operating-system account '{OS_ACCOUNT}' is not mapped to any member of staff"
FIX = f"ask a manager to run `redress user edit NAME --os-user {OS_ACCOUNT}`"


@pytest.fixture
def strict(tmp_path: Path) -> Path:
    """The shipped config with identity.trust_claims false, as a call centre runs it."""
    settings = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert settings["identity"]["trust_claims"] is True  # the copy below changes exactly this
    settings["identity"]["trust_claims"] = False
    settings["policy_manual"] = str(CONFIG.parent / "policy_manual.yaml")
    path = tmp_path / "strict.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def db(database_url: str, strict: Path) -> str:
    """The schema, the manager `boss` mapped to this test's operating-system account, and an agent `amy`."""
    return staffed_database(database_url, ("amy", "agent"))


def _unmap_this_account(db: str, strict: Path) -> None:
    """Boss moves his own mapping to another account: this one then acts as nobody."""
    redress("user", "edit", "boss", "--os-user", "elsewhere", db=db, config=strict)


def test_the_mapped_operating_system_account_acts_as_its_member_of_staff(db, strict):
    assert redress("whoami", db=db, config=strict).stdout.strip() == "boss (manager) on this database"
    assert as_json(redress("whoami", "--json", db=db, config=strict)) == {
        "name": "boss", "role": "manager", "on": "this database"}
    # What the account does is attributed to boss: amy above was added by him.
    amy = as_json(redress("user", "show", "amy", "--json", db=db, config=strict))
    assert [(c["actor"], c["action"]) for c in amy["changes"]] == [("boss", "add")]


@pytest.mark.parametrize("claim", ["option", "environment"])
def test_a_claim_is_refused_where_the_config_does_not_trust_claims(db, strict, claim):
    filing = ["new", "--channel", "phone", "--category", "delivery", "--summary", "parcel late",
              "--phone", "13800138000"]
    for args in (["whoami"], filing, ["queue"]):
        if claim == "option":
            result = redress(*args, "--as", "amy", db=db, config=strict, check=False)
        else:
            result = redress(*args, db=db, user="amy", config=strict, check=False)
        assert_one_line_error(result, 5, UNTRUSTED, f"the operating-system account '{OS_ACCOUNT}'")
        assert result.stdout == ""
    assert as_json(redress("queue", "--json", db=db, config=strict)) == []  # nothing was filed


def test_an_unmapped_account_is_refused_naming_the_account_and_the_fix(db, strict):
    _unmap_this_account(db, strict)
    result = redress("whoami", db=db, config=strict, check=False)
    assert_one_line_error(result, 7, UNMAPPED, FIX)
    assert "--as" not in result.stderr  # a claim is no way out where claims are not trusted
    # Where the config trusts claims, the same refusal also offers the claim.
    trusting = redress("whoami", db=db, check=False)
    assert_one_line_error(trusting, 7, UNMAPPED, "pass --as NAME or set REDRESS_USER", FIX)


def test_reading_a_customer_needs_an_identity(db, strict):
    filed = as_json(redress("new", "--channel", "phone", "--category", "delivery", "--summary", "parcel late",
                            "--phone", "13800138000", "--name", "王芳", "--json", db=db, config=strict))
    assert [c["number"] for c in as_json(redress(
        "customer", "show", "13800138000", "--json", db=db, config=strict))["complaints"]] == [filed["number"]]
    _unmap_this_account(db, strict)
    for args in (["customer", "show", "13800138000"], ["customer", "find", "王芳"], ["show", filed["number"]],
                 ["history", filed["number"]], ["queue"]):
        result = redress(*args, "--json", db=db, config=strict, check=False)
        assert_one_line_error(result, 7, UNMAPPED)
        assert result.stdout == "" and "王芳" not in result.stderr and "13800138000" not in result.stderr


def test_a_deactivated_member_of_staff_cannot_act_through_their_account(db, strict):
    # Set up with the trusting config: boss hands this account to amy, then amy leaves.
    redress("user", "edit", "boss", "--os-user", "elsewhere", db=db, user="boss")
    redress("user", "edit", "amy", "--os-user", OS_ACCOUNT, db=db, user="boss")
    assert redress("whoami", db=db, config=strict).stdout.strip() == "amy (agent) on this database"
    redress("user", "deactivate", "amy", "--reason", "left the company", db=db, user="boss")
    for args in (["whoami"], ["queue"]):
        result = redress(*args, db=db, config=strict, check=False)
        assert_one_line_error(result, 5, "amy was deactivated on 2026-11-20 by boss", "can no longer act")


def test_one_operating_system_account_acts_for_one_member_of_staff(db, strict):
    taken = f"the operating-system account '{OS_ACCOUNT}' already acts as boss"
    result = redress("user", "add", "dan", "--role", "agent", "--os-user", OS_ACCOUNT, db=db, config=strict,
                     check=False)
    assert_one_line_error(result, 7, taken)
    assert_one_line_error(redress("user", "edit", "amy", "--os-user", OS_ACCOUNT, db=db, config=strict,
                                  check=False), 7, taken)
    redress("user", "add", "carl", "--role", "agent", "--os-user", "carl", db=db, config=strict)
    twice = redress("user", "add", "dan", "--role", "agent", "--os-user", "carl", db=db, config=strict, check=False)
    assert_one_line_error(twice, 7, "the operating-system account 'carl' already acts as carl")
    users = as_json(redress("user", "list", "--all", "--json", db=db, config=strict))
    assert [u["name"] for u in users] == ["amy", "boss", "carl"]  # dan was never added
    assert redress("whoami", db=db, config=strict).stdout.strip() == "boss (manager) on this database"


def test_the_first_manager_is_this_account_unless_another_is_named_and_an_empty_database_says_how(sqlite_url, strict):
    redress("db", "upgrade", db=sqlite_url, config=strict)
    assert_one_line_error(redress("queue", db=sqlite_url, config=strict, check=False), 7,
                          f"no staff yet: add the first manager with `redress user add NAME --role manager "
                          f"--os-user {OS_ACCOUNT}`")
    added = redress("user", "add", "boss", "--role", "manager", db=sqlite_url, config=strict)
    assert f"the operating-system account '{OS_ACCOUNT}' acts as boss" in added.stdout
    assert redress("whoami", db=sqlite_url, config=strict).stdout.strip() == "boss (manager) on this database"
