"""Shared fixtures. nameko 2.14's pytest plugin no longer monkey-patches, so this does it
before anything opens a socket; psycopg2 is made green right after."""

import os

# selenium brings trio, whose hypothesis plugin imports trio's sockets: under eventlet's
# green sockets that import fails, so hypothesis loads no third-party plugins here
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import uuid  # noqa: E402

import pytest  # noqa: E402

from servicekit import secrets, testing  # noqa: E402
from servicekit.config import load  # noqa: E402
from servicekit.postgres import make_green  # noqa: E402

make_green()

RUN_ID = uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def broker_url():
    try:
        with testing.broker(os.environ.get("TOWNHALL_TEST_AMQP_URI", testing.DEFAULT_AMQP)) as url:
            yield url
    except testing.Unavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture
def amqp_uri(broker_url):
    """A fresh vhost per test: no test sees another's queues or messages."""
    with testing.vhost(broker_url) as uri:
        yield uri


@pytest.fixture(scope="session")
def postgres_admin():
    try:
        with testing.postgres(os.environ.get("TOWNHALL_TEST_POSTGRES_URL",
                                             testing.DEFAULT_POSTGRES)) as url:
            databases = testing.Databases(url)
            yield databases
            databases.drop_all()
    except testing.Unavailable as exc:
        pytest.fail(str(exc))


class LazyDatabases(dict):
    """Creates a service's PostgreSQL database the first time its URL is asked for."""

    def __init__(self, admin, prefix):
        super().__init__()
        self.admin, self.prefix = admin, prefix

    def get(self, service, default=None):
        if service not in self:
            self[service] = self.admin.create(f"{self.prefix}_{service}")
        return self[service]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def make_config(tmp_path, amqp_uri, backend, request):
    """Configuration for services under test: own vhost, own databases, short retries."""
    counter = iter(range(1000))

    def build(**overrides):
        config = load(environ={})
        config["AMQP_URI"] = amqp_uri
        config["data_dir"] = str(tmp_path / "data")
        config["consumers"] = {"retry_delays_seconds": [0.05, 0.1]}
        config["outbox"] = {"poll_interval_seconds": 0.05, "batch_size": 200}
        config["rpc_timeout_seconds"] = 5
        if backend == "postgres":
            admin = request.getfixturevalue("postgres_admin")
            prefix = f"th_{RUN_ID}_{uuid.uuid4().hex[:6]}_{next(counter)}"
            config["DATABASES"] = LazyDatabases(admin, prefix)
        config.update(overrides)
        # the development secrets of this test's own installation, beside its data
        return secrets.resolve(config)

    return build
