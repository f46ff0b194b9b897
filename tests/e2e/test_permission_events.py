"""Taking send_sms away is an event other services react to: credits freezes the user's
credits, without ever reading directory's tables."""

import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy

from servicekit.testing import wait_until

pytestmark = pytest.mark.e2e


def test_revoking_send_sms_freezes_the_users_credits(system):
    master_password = next(a["password"] for a in system.demo["accounts"]
                           if a["email"] == "master@maplegrove.example")
    token = requests.post(f"{system.url}/v1/auth/login", timeout=30, json={
        "email": "master@maplegrove.example", "password": master_password}).json()[
        "access_token"]
    master = {"Authorization": f"Bearer {token}"}
    newhire = next(a["principal_id"] for a in system.demo["accounts"]
                   if a["email"] == "newhire@maplegrove.example")
    granted = requests.post(f"{system.url}/v1/staff/{newhire}/grants", headers=master,
                            timeout=30, json={"name": "send_sms", "scope_type": "organization",
                                              "scope_id": system.demo["organization_id"]})
    assert granted.status_code == 201, granted.text
    config = {"AMQP_URI": system.env["TOWNHALL_AMQP_URI"]}
    system_caller = {"actor_type": "system", "actor_id": "e2e", "organization_id": None,
                     "scopes": {"*": "*"}}
    with ClusterRpcProxy(config, timeout=10) as rpc:
        def holder():
            try:
                return rpc.credits.get_holder(system_caller, newhire)
            except Exception:   # not there until the event has arrived
                return None

        assert wait_until(lambda: (holder() or {}).get("frozen") is False, timeout=20)
        gone = requests.delete(f"{system.url}/v1/grants/{granted.json()['id']}",
                               headers=master, timeout=30)
        assert gone.status_code == 204
        assert wait_until(lambda: (holder() or {}).get("frozen") is True, timeout=20)
