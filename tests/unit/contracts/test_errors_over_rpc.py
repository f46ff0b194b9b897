"""Domain errors cross RPC as themselves: a service's error reaches the gateway with its
detail and its field, and an error that names no field arrives naming none (nameko turns
every argument into text, so a missing field used to arrive as the word "None")."""

from nameko.exceptions import deserialize, serialize

from contracts.errors import Conflict, InvalidRequest, Unauthenticated


def over_rpc(error):
    return deserialize(serialize(error))


def test_an_error_without_a_field_arrives_without_one():
    error = over_rpc(Unauthenticated("this resident has moved out"))
    assert isinstance(error, Unauthenticated)
    assert error.field is None
    assert error.detail == "this resident has moved out"
    assert str(error) == "this resident has moved out"


def test_an_error_with_a_field_arrives_with_it():
    for error in (InvalidRequest("must be E.164", "value"), Conflict("taken", "label")):
        arrived = over_rpc(error)
        assert type(arrived) is type(error)
        assert (arrived.detail, arrived.field) == (error.detail, error.field)
