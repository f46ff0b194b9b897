"""Groups with worker_factory and an in-memory database: what is stored, what is refused and
naming which field, and who may read or change them."""

import pytest

from contracts.errors import Conflict, Forbidden, IdempotencyKeyReused, InvalidRequest, NotFound
from servicekit.access import SYSTEM
from services.directory.models import GroupResident, GroupUnit


def elm_group(oak, name="Board", residents=("Ivy",), units=("Kay",), **extra):
    return {"community_id": oak.community["Elm"], "name": name,
            "members": {"residents": [oak.resident[r]["id"] for r in residents],
                        "units": [oak.unit(r) for r in units]}, **extra}


def test_a_manager_saves_a_group_of_residents_and_units_of_one_community(oak):
    directory, manager = oak.service, oak.caller["manager"]
    made = directory.create_group(manager, elm_group(
        oak, name="  Board   members ", residents=("Lou", "Ivy", "Lou"), units=("Kay",),
        description="Owners on the board"))

    assert made["id"].startswith("grp_")
    assert made["name"] == "Board members"          # one line, spaces folded
    assert made["organization_id"] == oak.organization_id
    assert made["community_id"] == oak.community["Elm"]
    assert made["members"] == {"residents": sorted([oak.resident["Ivy"]["id"],
                                                    oak.resident["Lou"]["id"]]),
                               "units": [oak.unit("Kay")]}
    assert made["member_counts"] == {"residents": 2, "units": 1}
    assert made["created_at"] == made["updated_at"]
    assert directory.get_group(manager, made["id"]) == made


def test_a_name_is_unique_in_its_community_whatever_its_case_and_spacing(oak):
    directory, master = oak.service, oak.caller["master"]
    directory.create_group(master, elm_group(oak, name="Board"))
    with pytest.raises(Conflict, match="already exists") as taken:
        directory.create_group(master, elm_group(oak, name=" board "))
    assert taken.value.field == "name"
    other = directory.create_group(master, {"community_id": oak.community["Fir"],
                                            "name": "Board"})   # another community: fine
    assert other["members"] == {"residents": [], "units": []}


@pytest.mark.parametrize("field, member", [
    ("members.residents", ("residents", "Max")),     # of Ash, another community
    ("members.residents", ("residents", "Zed")),     # of another organization
    ("members.residents", ("residents", None)),      # nobody
    ("members.units", ("units", "Nia")),             # Fir's unit
    ("members.units", ("units", "Zed")),             # another organization's unit
    ("members.units", ("units", None))])
def test_members_belong_to_the_groups_community_or_the_422_names_the_field_and_id(
        oak, field, member):
    kind, name = member
    if name is None:
        wrong = "res_nobody" if kind == "residents" else "unt_nowhere"
    else:
        wrong = oak.resident[name]["id"] if kind == "residents" else oak.unit(name)
    fields = elm_group(oak)
    fields["members"][kind].append(wrong)
    with pytest.raises(InvalidRequest) as refused:
        oak.service.create_group(oak.caller["manager"], fields)
    assert refused.value.field == field
    assert wrong in refused.value.detail and oak.community["Elm"] in refused.value.detail
    assert oak.service.list_groups(oak.caller["master"])["items"] == []  # nothing half-made


def test_reading_needs_what_reading_the_communitys_residents_needs(oak):
    directory = oak.service
    made = directory.create_group(oak.caller["manager"], elm_group(oak))
    for reader in ("master", "manager", "sender"):      # sender: send_communications on Elm
        assert directory.get_group(oak.caller[reader], made["id"])["id"] == made["id"]
    assert directory.get_group(SYSTEM, made["id"])["id"] == made["id"]
    with pytest.raises(Forbidden, match=oak.community["Elm"]):
        directory.get_group(oak.caller["west"], made["id"])      # holds nothing for Elm
    with pytest.raises(Forbidden, match="residents do not see groups"):
        directory.get_group(oak.caller["ivy"], made["id"])       # even of her community
    with pytest.raises(Forbidden, match="residents"):
        directory.list_groups(oak.caller["ivy"])
    with pytest.raises(NotFound) as hidden:
        directory.get_group(oak.caller["pine"], made["id"])
    assert hidden.value.field == "group_id"


def test_changing_needs_manage_directory_for_the_community(oak):
    directory = oak.service
    made = directory.create_group(oak.caller["manager"], elm_group(oak))
    for caller in ("sender", "west"):
        with pytest.raises(Forbidden, match="manage_directory"):
            directory.update_group(oak.caller[caller], made["id"], {"name": "Mine"})
        with pytest.raises(Forbidden, match="manage_directory"):
            directory.delete_group(oak.caller[caller], made["id"])
    with pytest.raises(Forbidden, match="manage_directory"):
        directory.create_group(oak.caller["sender"], elm_group(oak, name="Other"))
    with pytest.raises(Forbidden, match="manage_directory"):   # Fir is not in East
        directory.create_group(oak.caller["manager"], {"community_id": oak.community["Fir"],
                                                       "name": "West board"})
    for change in (lambda c: directory.update_group(c, made["id"], {"name": "Mine"}),
                   lambda c: directory.delete_group(c, made["id"]),
                   lambda c: directory.create_group(c, elm_group(oak, name="Pine's"))):
        with pytest.raises(NotFound):
            change(oak.caller["pine"])
    with pytest.raises(Forbidden):
        directory.create_group(oak.caller["ivy"], elm_group(oak, name="Ivy's"))
    assert directory.get_group(oak.caller["master"], made["id"])["name"] == "Board"


def test_an_update_renames_describes_and_replaces_the_members_whole(oak):
    directory, manager = oak.service, oak.caller["manager"]
    made = directory.create_group(manager, elm_group(oak, description="First"))
    directory.create_group(manager, elm_group(oak, name="Owners"))

    renamed = directory.update_group(manager, made["id"], {"name": "Board 2026"})
    assert renamed["name"] == "Board 2026" and renamed["description"] == "First"
    assert renamed["members"] == made["members"]
    assert renamed["updated_at"] >= made["updated_at"]
    with pytest.raises(Conflict) as taken:
        directory.update_group(manager, made["id"], {"name": "OWNERS"})
    assert taken.value.field == "name"
    assert directory.update_group(manager, made["id"], {"name": "board 2026"})["name"] == \
        "board 2026"                                   # its own name in another case

    replaced = directory.update_group(manager, made["id"], {
        "description": "", "members": {"residents": [oak.resident["Jon"]["id"]]}})
    assert replaced["description"] is None
    assert replaced["members"] == {"residents": [oak.resident["Jon"]["id"]], "units": []}
    with pytest.raises(InvalidRequest) as refused:
        directory.update_group(manager, made["id"], {"members": {"units": [oak.unit("Max")]}})
    assert refused.value.field == "members.units"
    assert directory.get_group(manager, made["id"])["members"] == replaced["members"]


def test_deleting_a_group_removes_it_and_its_member_lists_only(oak):
    directory, manager = oak.service, oak.caller["manager"]
    made = directory.create_group(manager, elm_group(oak))
    kept = directory.create_group(manager, elm_group(oak, name="Kept"))

    assert directory.delete_group(manager, made["id"]) == {"deleted": made["id"]}
    with pytest.raises(NotFound):
        directory.get_group(manager, made["id"])
    with pytest.raises(NotFound):
        directory.delete_group(manager, made["id"])
    with directory.db.read() as session:
        assert {r.group_id for r in session.query(GroupResident)} == {kept["id"]}
        assert {r.group_id for r in session.query(GroupUnit)} == {kept["id"]}
    assert directory.get_resident(manager, oak.resident["Ivy"]["id"])["name"] == "Ivy"


def test_lists_hold_the_groups_the_caller_may_read_with_member_counts(oak):
    directory, master = oak.service, oak.caller["master"]
    elm = [directory.create_group(master, elm_group(oak, name=f"Elm {n}")) for n in range(3)]
    fir = directory.create_group(master, {"community_id": oak.community["Fir"], "name": "Fir",
                                          "members": {"residents": [oak.resident["Nia"]["id"]]}})
    directory.create_group(oak.caller["pine"], {"community_id": oak.community["Pine Court"],
                                                "name": "Pine board"})

    def ids(caller, **query):
        return {g["id"] for g in directory.list_groups(oak.caller[caller], **query)["items"]}

    assert ids("master") == {g["id"] for g in elm} | {fir["id"]}
    assert ids("sender") == ids("manager") == {g["id"] for g in elm}
    assert ids("west") == {fir["id"]}
    assert ids("master", community_id=oak.community["Fir"]) == {fir["id"]}
    with pytest.raises(Forbidden):
        directory.list_groups(oak.caller["west"], community_id=oak.community["Elm"])
    with pytest.raises(NotFound):
        directory.list_groups(master, community_id=oak.community["Pine Court"])

    first = directory.list_groups(master, limit=2)
    second = directory.list_groups(master, cursor=first["next_cursor"], limit=2)
    assert len(first["items"]) == 2 and second["next_cursor"] is None
    assert {g["id"] for g in first["items"] + second["items"]} == ids("master")
    summary = next(g for g in first["items"] + second["items"] if g["id"] == fir["id"])
    assert summary["member_counts"] == {"residents": 1, "units": 0}
    assert "members" not in summary


def test_an_idempotency_key_answers_the_first_group_again(oak):
    directory, manager = oak.service, oak.caller["manager"]
    first = directory.create_group(manager, elm_group(oak), idempotency_key="grp-1")
    again = directory.create_group(manager, elm_group(oak), idempotency_key="grp-1")
    assert again == first
    assert len(directory.list_groups(manager)["items"]) == 1
    with pytest.raises(IdempotencyKeyReused):
        directory.create_group(manager, elm_group(oak, name="Other"), idempotency_key="grp-1")
    # another caller's key is their own
    other = directory.create_group(oak.caller["master"], elm_group(oak, name="Other"),
                                   idempotency_key="grp-1")
    assert other["id"] != first["id"]
