"""Two logins made for one email of an organization at the same moment: the check before the
insert saw neither, so the database's unique key decides, and the loser hears 409 as a
sequential request does, not 500 (the fuzzer found this with two roles at once)."""

import pytest

from contracts.errors import Conflict
from servicekit.testing import memory_database
from services.directory.models import Base, LoginAccount
from services.directory.people import add_login


def login(account_id, organization_id, email="ada@example.com"):
    return LoginAccount(id=account_id, organization_id=organization_id, email=email,
                        password_hash="x", principal_type="resident",
                        principal_id=f"res_{account_id}")


def test_the_second_login_of_one_email_in_one_organization_is_a_conflict_not_a_crash():
    db = memory_database(Base)
    with db.unit_of_work() as uow:
        add_login(uow.session, login("acct_1", "org_1"))
    with pytest.raises(Conflict) as refused, db.unit_of_work() as uow:
        add_login(uow.session, login("acct_2", "org_1"))
    assert refused.value.field == "email"
    assert "ada@example.com is already in use" in refused.value.detail
    with db.unit_of_work() as uow:   # another organization may use the same email
        add_login(uow.session, login("acct_3", "org_2"))
