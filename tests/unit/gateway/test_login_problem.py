"""A login whose password is good in several organizations crosses RPC whole and becomes a
409 problem listing them."""

import json

from nameko.exceptions import deserialize, serialize

from contracts.errors import OrganizationChoice
from gateway.http import problem_for


def test_the_organizations_to_choose_from_reach_the_problem_body():
    choice = OrganizationChoice("send organization_id", "organization_id",
                                [{"id": "org_a", "name": "Oak"}, {"id": "org_b", "name": "Pine"}])
    answer = problem_for(deserialize(serialize(choice)))
    assert answer.status_code == 409
    assert json.loads(answer.get_data()) == {
        "type": "about:blank", "title": "Choose an organization", "status": 409,
        "detail": "send organization_id", "field": "organization_id",
        "organizations": [{"id": "org_a", "name": "Oak"}, {"id": "org_b", "name": "Pine"}]}
