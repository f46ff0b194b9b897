"""Importing consent collected before Townhall, with worker_factory, an in-memory database and
a fake directory: a good file appends one act per row with its evidence and `check` follows
it; a file with any error appends nothing; who may import for which category and residents;
directory is asked a chunk of ids per call; Idempotency-Key replays."""

import base64
import csv
import io

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select

from contracts.errors import Forbidden, IdempotencyKeyReused, InvalidRequest, NotFound
from servicekit.testing import memory_database, outbox_events
from services.consent import imports
from services.consent.models import Base, ConsentEvent
from services.consent.service import ConsentService

ORG, OTHER_ORG = "org_1", "org_2"
MAPLE, BIRCH = "com_maple", "com_birch"
MASTER = {"actor_type": "staff", "actor_id": "usr_master", "organization_id": ORG,
          "scopes": {"*": "*"}}
MAPLE_ONLY = {"actor_type": "staff", "actor_id": "usr_maple", "organization_id": ORG,
              "scopes": {"manage_consent_categories": [MAPLE]}}
MANAGER = {"actor_type": "staff", "actor_id": "usr_manager", "organization_id": ORG,
           "scopes": {"manage_directory": [MAPLE]}}
ADA = {"actor_type": "resident", "actor_id": "res_ada", "organization_id": ORG,
       "resident": {"community_id": MAPLE, "unit_id": "unit_101"}}
OUTSIDER = dict(MASTER, actor_id="usr_other", organization_id=OTHER_ORG)
RESIDENTS = {"res_ada": (ORG, MAPLE), "res_grace": (ORG, MAPLE), "res_bob": (ORG, BIRCH),
             "res_zed": (OTHER_ORG, "com_harbor")}
HEADER = "resident_id,channel,action,obtained_at,wording,address,source\n"
GOOD = (HEADER
        + "res_ada,sms,grant,2024-03-01,Texts about my building: yes.,+14165550101,"
          "paper form 2024\n"
        + "res_bob,email,withdraw,2024-03-02T10:00:00Z,No emails please.,bob@example.com,\n"
        + "res_grace,sms,grant,2024-01-10,Texts about my building: yes.,,\n"
        + "res_grace,sms,withdraw,2024-05-10,Stop my texts.,,old system\n")


class FakeDirectory:
    """Residents of org_1 (and one of org_2); get_residents raises NotFound naming the first
    unknown id, like directory; list_residents answers pages of two."""

    def __init__(self, residents=RESIDENTS):
        self.residents = residents
        self.chunks, self.pages = [], 0

    def get_residents(self, identity, resident_ids):
        self.chunks.append(list(resident_ids))
        found = []
        for resident_id in resident_ids:
            organization_id, community_id = self.residents.get(resident_id, (None, None))
            if organization_id != identity["organization_id"]:
                raise NotFound(f"resident {resident_id} does not exist", "recipients.residents")
            found.append({"id": resident_id, "organization_id": organization_id,
                          "community_id": community_id})
        return found

    def get_resident(self, identity, resident_id):
        (resident,) = self.get_residents(identity, [resident_id])
        return resident

    def list_residents(self, identity, community_id=None, cursor=None, limit=None,
                       include_moved_out=False):
        assert identity["actor_type"] == "system" and include_moved_out
        self.pages += 1
        ids = sorted(r for r, (org, _c) in self.residents.items()
                     if org == identity["organization_id"])
        start = int(cursor or 0)
        page = ids[start:start + 2]
        return {"items": [{"id": r, "community_id": self.residents[r][1]} for r in page],
                "next_cursor": str(start + 2) if start + 2 < len(ids) else None}


@pytest.fixture
def db():
    return memory_database(Base)


@pytest.fixture
def directory():
    return FakeDirectory()


@pytest.fixture
def consent(db, directory):
    return worker_factory(ConsentService, db=db, config={}, directory=directory)


@pytest.fixture
def category(consent):
    return consent.create_category(MASTER, ORG, "Building news", "opt_out")["id"]


def upload(text):
    return base64.b64encode(text.encode()).decode()


def acts(db):
    with db.read() as session:
        return list(session.scalars(select(ConsentEvent).order_by(ConsentEvent.seq)))


def check(consent, category, channel, resident_id):
    (decision,) = consent.check(MASTER, category, channel, [
        {"resident_id": resident_id, "has_contact_point": True, "address": None}])
    return decision["allowed"], decision["reason"]


def test_a_good_file_appends_one_act_per_row_with_its_evidence_in_file_order(
        consent, db, category):
    answer = consent.import_consents(MASTER, category, upload(GOOD), filename="forms.csv")
    assert answer == {"imported": 4, "category_id": category, "filename": "forms.csv"}
    rows = acts(db)
    assert [(r.resident_id, r.channel, r.action, r.method, r.category_id, r.recorded_by)
            for r in rows] == [
        ("res_ada", "sms", "grant", "import", category, "usr_master"),
        ("res_bob", "email", "withdraw", "import", category, "usr_master"),
        ("res_grace", "sms", "grant", "import", category, "usr_master"),
        ("res_grace", "sms", "withdraw", "import", category, "usr_master")]
    assert rows[0].evidence == {
        "wording": "Texts about my building: yes.", "address": "+14165550101",
        "source": "paper form 2024", "obtained_at": "2024-03-01", "file": "forms.csv",
        "line": 2, "imported_by": "usr_master"}
    assert rows[1].evidence["obtained_at"] == "2024-03-02T10:00:00+00:00"
    assert [r.evidence["line"] for r in rows] == [2, 3, 4, 5]
    (recorded,) = outbox_events(db, "consents_recorded")    # one event for the batch
    assert recorded["organization_id"] == ORG
    assert [(e["resident_id"], e["action"], e["method"], e["category_id"], ORG)
            for e in recorded["data"]["items"]] == [
        ("res_ada", "grant", "import", category, ORG),
        ("res_bob", "withdraw", "import", category, ORG),
        ("res_grace", "grant", "import", category, ORG),
        ("res_grace", "withdraw", "import", category, ORG)]


def test_check_then_follows_the_imported_acts_and_a_later_line_wins(consent, category):
    consent.import_consents(MASTER, category, upload(GOOD))
    assert check(consent, category, "sms", "res_ada") == (True, None)       # granted
    assert check(consent, category, "email", "res_bob") == (False, "opted_out")
    assert check(consent, category, "sms", "res_grace") == (False, "opted_out")  # line 5
    assert check(consent, category, "email", "res_ada") == (False, "no_consent")  # not in file


def test_the_proof_shows_imported_acts_with_their_words_address_and_source(consent, category):
    consent.import_consents(MASTER, category, upload(GOOD), filename="forms.csv")
    (row,) = csv.DictReader(io.StringIO(consent.export_consents(MASTER, resident_id="res_ada")))
    assert (row["method"], row["action"], row["channel"], row["recorded_by"]) == (
        "import", "grant", "sms", "usr_master")
    assert row["wording"] == "Texts about my building: yes."
    assert row["address"] == "'+14165550101"         # a formula-safe cell
    (event,) = consent.consent_history(MASTER, "res_ada")["events"]
    assert (event["evidence"]["source"], event["evidence"]["obtained_at"]) == (
        "paper form 2024", "2024-03-01")


def test_a_file_with_one_bad_line_imports_nothing_and_names_the_line(consent, db, category):
    bad = GOOD + "res_ada,fax,grant,2024-03-01,Words,,\n"
    with pytest.raises(InvalidRequest) as refused:
        consent.import_consents(MASTER, category, upload(bad))
    assert refused.value.field == "file"
    assert refused.value.detail == ("the file has 1 error, so nothing was imported: line 6, "
                                    "channel: must be one of sms, email, voice")
    assert acts(db) == [] and outbox_events(db) == []


def test_every_unknown_resident_is_named_with_its_line_without_asking_per_row(
        consent, db, category, directory):
    text = (GOOD + "res_nobody,sms,grant,2024-03-01,Words,,\n"
            + "res_zed,sms,grant,2024-03-01,Words,,\n"           # another organization's
            + "res_ghost,email,grant,2024-03-01,Words,,\n")
    with pytest.raises(InvalidRequest) as refused:
        consent.import_consents(MASTER, category, upload(text))
    assert refused.value.detail == (
        "the file has 3 errors, so nothing was imported: "
        "line 6, resident_id: no resident res_nobody in this organization; "
        "line 7, resident_id: no resident res_zed in this organization; "
        "line 8, resident_id: no resident res_ghost in this organization")
    # one chunk asked, then the organization's residents a page at a time (3 in org_1)
    assert len(directory.chunks) == 1 and directory.pages == 2
    assert acts(db) == []


def test_directory_is_asked_a_chunk_of_distinct_ids_per_call(db):
    many = {f"res_{n:04}": (ORG, MAPLE) for n in range(1200)}
    directory = FakeDirectory(many)
    consent = worker_factory(ConsentService, db=db, config={}, directory=directory)
    category = consent.create_category(MASTER, ORG, "Building news", "opt_out")["id"]
    lines = "".join(f"res_{n % 1200:04},email,grant,2024-03-01,Words,,\n" for n in range(2400))
    assert consent.import_consents(MASTER, category, upload(HEADER + lines))["imported"] == 2400
    assert [len(c) for c in directory.chunks] == [500, 500, 200]
    assert directory.pages == 0
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 2400
    assert [len(e["data"]["items"]) for e in outbox_events(db, "consents_recorded")] == [
        1000, 1000, 400]


def test_only_staff_with_manage_consent_categories_import_and_only_where_they_hold_it(
        consent, db, category):
    for caller in (MANAGER, ADA):
        with pytest.raises(Forbidden, match="manage_consent_categories"):
            consent.import_consents(caller, category, upload(GOOD))
    # Maple Grove only: Bob lives in Birch Court
    with pytest.raises(InvalidRequest) as refused:
        consent.import_consents(MAPLE_ONLY, category, upload(GOOD))
    assert refused.value.detail == (
        "the file has 1 error, so nothing was imported: line 3, resident_id: resident "
        "res_bob lives in community com_birch, where this caller lacks the permission "
        "'manage_consent_categories'")
    maple = HEADER + "res_ada,sms,grant,2024-03-01,Texts: yes.,,\n"
    assert consent.import_consents(MAPLE_ONLY, category, upload(maple))["imported"] == 1
    assert [r.recorded_by for r in acts(db)] == ["usr_maple"]


def test_another_organizations_or_an_unknown_category_is_not_found(consent, db, category):
    with pytest.raises(NotFound):
        consent.import_consents(OUTSIDER, category, upload(GOOD))
    with pytest.raises(NotFound):
        consent.import_consents(MASTER, "cat_nope", upload(GOOD))
    assert acts(db) == []


def test_an_archived_category_takes_no_import(consent, db, category):
    consent.archive_category(MASTER, category)
    with pytest.raises(InvalidRequest, match="archived"):
        consent.import_consents(MASTER, category, upload(GOOD))
    assert acts(db) == []


@pytest.mark.parametrize("data, field, words", [
    ("not base64!", "data_base64", "base64"),
    ("", "file", "empty"),
])
def test_a_file_that_did_not_travel_well_is_refused(consent, category, data, field, words):
    with pytest.raises(InvalidRequest, match=words) as refused:
        consent.import_consents(MASTER, category, data)
    assert refused.value.field == field


def test_a_file_over_5_mib_is_refused_before_it_is_read(consent, category, monkeypatch):
    monkeypatch.setattr(imports, "CONSENT_IMPORT_MAX_BYTES", 100)
    with pytest.raises(InvalidRequest, match="the limit is 100: split it") as refused:
        consent.import_consents(MASTER, category, upload(GOOD))
    assert refused.value.field == "file"


def test_the_same_key_and_file_answer_the_first_import_again_and_append_nothing(
        consent, db, category, directory):
    first = consent.import_consents(MASTER, category, upload(GOOD), filename="forms.csv",
                                    idempotency_key="import-1")
    asked = len(directory.chunks)
    again = consent.import_consents(MASTER, category, upload(GOOD), filename="forms.csv",
                                    idempotency_key="import-1")
    assert again == first and len(acts(db)) == 4
    assert len(directory.chunks) == asked          # a replay asks directory nothing
    assert [len(e["data"]["items"]) for e in outbox_events(db, "consents_recorded")] == [4]
    with pytest.raises(IdempotencyKeyReused):
        consent.import_consents(MASTER, category, upload(GOOD + GOOD[len(HEADER):]),
                                filename="forms.csv", idempotency_key="import-1")
    # without a key the same file is another import: the acts are appended again
    assert consent.import_consents(MASTER, category, upload(GOOD))["imported"] == 4
    assert len(acts(db)) == 8
