"""An organization for the group and audience tests: two offices, three communities with
residents of both kinds, staff who may change, only read, or not see Elm, and a second
organization that must stay invisible."""

from datetime import date, timedelta

import pytest
from argon2 import PasswordHasher
from nameko.testing.services import worker_factory
from sqlalchemy import select

from servicekit.db import utcnow
from servicekit.testing import memory_database
from services.directory import identity, passwords
from services.directory.models import Base, ContactPoint, LoginAccount, Resident, Unit
from services.directory.service import DirectoryService

OAK = {
    "slug": "oak", "name": "Oak Property", "api_key_permissions": [],
    "offices": [
        {"name": "East", "communities": [
            {"name": "Elm", "residents": [
                {"name": "Ivy", "unit": "1A", "kind": "owner", "phone": "+15550000001",
                 "email": "ivy@oak.example", "portal_password": "ivy-long-password"},
                {"name": "Jon", "unit": "1A", "kind": "tenant", "phone": "+15550000002"},
                {"name": "Kay", "unit": "2B", "kind": "tenant", "email": "kay@oak.example"},
                {"name": "Lou", "unit": "3C", "kind": "owner"}]},
            {"name": "Ash", "residents": [{"name": "Max", "unit": "1", "kind": "tenant"}]}]},
        {"name": "West", "communities": [
            {"name": "Fir", "residents": [{"name": "Nia", "unit": "7", "kind": "owner"}]}]}],
    "staff": [
        {"name": "Meg", "email": "master@oak.example", "password": "master-long-password",
         "grants": [{"name": "master", "scope": "organization"}]},
        {"name": "Ned", "email": "east@oak.example", "password": "east-long-password",
         "grants": [{"name": "manager", "scope": "office:East"}]},
        {"name": "Ola", "email": "sender@oak.example", "password": "sender-long-password",
         "grants": [{"name": "send_communications", "scope": "community:Elm"}]},
        {"name": "Pia", "email": "west@oak.example", "password": "west-long-password",
         "grants": [{"name": "dispatcher", "scope": "office:West"}]},
    ],
}
PINE = {"slug": "pine", "name": "Pine", "api_key_permissions": [], "offices": [
    {"name": "Only", "communities": [{"name": "Pine Court", "residents": [
        {"name": "Zed", "unit": "1", "kind": "owner"}]}]}],
    "staff": [{"name": "Pam", "email": "master@pine.example", "password": "pine-long-password",
               "grants": [{"name": "master", "scope": "organization"}]}]}
CONFIG = {"auth": {"jwt_secret": "unit-test-signing-key-0123456789abcdef"},
          "directory": {"default_phone_region": "US"}}


class Oak:
    """The service, its ids by name and its callers' identities."""

    def __init__(self):
        self.service = worker_factory(DirectoryService, db=memory_database(Base),
                                      config=CONFIG)
        oak, pine = self.service.seed_demo(OAK), self.service.seed_demo(PINE)
        self.organization_id = oak["organization_id"]
        self.community = {c["name"]: c["id"] for c in oak["communities"] + pine["communities"]}
        self.resident = {r["name"]: r for r in oak["residents"] + pine["residents"]}
        self.caller = {name: self.identity(email) for name, email in (
            ("master", "master@oak.example"), ("manager", "east@oak.example"),
            ("sender", "sender@oak.example"), ("west", "west@oak.example"),
            ("ivy", "ivy@oak.example"), ("pine", "master@pine.example"))}

    def identity(self, email):
        """The identity directory gives this login's sessions (test_directory_service.py
        covers signing in itself)."""
        with self.service.db.read() as session:
            account = session.scalars(select(LoginAccount).where(
                LoginAccount.email == email)).one()
            return identity.of_account(session, account)

    def unit(self, name):
        """The unit of the resident called `name`."""
        return self.resident[name]["unit_id"]

    def move_out(self, name, days_from_today):
        with self.service.db.unit_of_work() as uow:
            row = uow.session.get(Resident, self.resident[name]["id"])
            row.move_out = utcnow().date() + timedelta(days=days_from_today)

    def add_residents(self, community, count, prefix, kind="tenant", contacts=True):
        """`count` residents in a unit of their own each, written in one transaction."""
        community_id = self.community[community]
        with self.service.db.unit_of_work() as uow:
            units = [Unit(id=f"unt_{prefix}{n:05d}", community_id=community_id,
                          label=f"{prefix}{n}") for n in range(count)]
            uow.session.add_all(units)
            uow.session.flush()
            rows = [Resident(id=f"res_{prefix}{n:05d}", organization_id=self.organization_id,
                             community_id=community_id, unit_id=units[n].id,
                             name=f"{prefix} {n}", kind=kind, move_in=date(2024, 1, 1))
                    for n in range(count)]
            uow.session.add_all(rows)
            uow.session.flush()
            if contacts:
                uow.session.add_all(ContactPoint(
                    id=f"cp_{prefix}{n:05d}", resident_id=rows[n].id, kind="phone",
                    value=f"+1556{n:07d}", is_primary=True) for n in range(count))
        return [r.id for r in rows]


@pytest.fixture
def oak(monkeypatch):
    # these tests are about groups and audiences, not passwords: the seed's logins get a
    # cheap argon2id hash, made in this thread
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    monkeypatch.setattr(passwords, "hash_password", cheap.hash)
    return Oak()
