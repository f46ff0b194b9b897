"""Several workers opening and paying into the same new wallet at once, on both databases."""

from nameko.standalone.rpc import ClusterRpcProxy

from servicekit import migrate
from services.credits.service import CreditsService

SEEDER = {"actor_type": "system", "actor_id": "test", "organization_id": "org_1",
          "permissions": ["*"]}


def test_concurrent_first_uses_of_a_wallet_all_succeed(make_config, container_factory):
    config = make_config()
    migrate.upgrade("credits", config)
    container_factory(CreditsService, config).start()
    with ClusterRpcProxy(config, timeout=20) as cluster:
        calls = [cluster.credits.grant.call_async(SEEDER, "org_1", "com_new", 5, "top-up",
                                                  f"grant-{n}") for n in range(8)]
        calls += [cluster.credits.open_wallet.call_async(SEEDER, "org_1", "com_new")
                  for _ in range(4)]
        for call in calls:
            call.result()
        wallet = cluster.credits.get_wallet(SEEDER, "com_new")
    assert wallet == {"community_id": "com_new", "balance": 40, "held": 0, "available": 40}
