"""A stack run by tests or benches listens on ports of its own, so it never meets another
run or a `make up` demo on the default ports (the bench once wanted the demo's payment port):
no process it starts listens on a default port, and none is pointed at one — not by its
command line, nor by the configuration it reads, nor by an address derived from it."""

import re

from servicekit import config as configuration
from servicekit import testing
from servicekit.config import twilio_base_url
from servicekit.runner import nameko_config
from servicekit.supervisor import SERVICES, process_specs
from services.credits.payments import payments_base_url

# what `make up` takes: gateway, Twilio sandbox, SMTP sink and its read API, payment sandbox
DEMO_PORTS = {8000, 8010, 8025, 8026, 8030}
ADDRESS_PORT = re.compile(r":(\d{2,5})\b")


def _port_settings(tree, prefix=""):
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _port_settings(value, f"{name}.")
        elif key == "port" or key.endswith("_port"):
            yield name


def _setting(config, name):
    section, _, key = name.rpartition(".")
    return config[section][key]


def ports_named(value, key=""):
    """Every port a value names: a port setting, a number on a command line, or the port of
    an address or URL (`host:port`) anywhere in it."""
    if isinstance(value, dict):
        return set().union(*(ports_named(v, str(k)) for k, v in value.items()), set())
    if isinstance(value, list | tuple):
        return set().union(*(ports_named(v, key) for v in value), set())
    if isinstance(value, int) and not isinstance(value, bool):
        return {value} if key == "port" or key.endswith("_port") else set()
    if isinstance(value, str):
        found = {int(p) for p in ADDRESS_PORT.findall(value)}
        return found | ({int(value)} if value.isdigit() else set())
    return set()


def what_each_process_is_given(config):
    """{process: ports it listens on or is pointed at}: its command line, and for the
    services the configuration they run with and the addresses they derive from it."""
    derived = [twilio_base_url(config), payments_base_url(config),
               f"{config['smtp']['host']}:{config['smtp']['port']}"]
    given = {}
    for name, argv in process_specs(config):
        given[name] = ports_named(argv)
        if name in SERVICES:
            given[name] |= ports_named(nameko_config(config, name)) | ports_named(derived)
    return given


def test_the_default_configuration_is_the_demos_ports():
    defaults = configuration.load(environ={})
    assert {_setting(defaults, n) for n in _port_settings(defaults)} == DEMO_PORTS


def test_every_port_setting_of_the_configuration_gets_its_own_value():
    defaults = configuration.load(environ={})
    overridden = configuration.load(environ=testing.own_ports())
    for name in _port_settings(defaults):
        assert _setting(overridden, name) not in DEMO_PORTS, name


def test_the_check_sees_every_demo_port_a_default_stack_uses():
    # what the check below relies on: with the defaults, it finds each of them
    given = what_each_process_is_given(configuration.load(environ={}))
    assert set().union(*given.values()) >= DEMO_PORTS
    assert 8030 in given["payments-sandbox"] and 8030 in given["credits"]


def test_no_process_of_an_isolated_stack_listens_on_or_points_to_a_default_port():
    config = configuration.load(environ=testing.own_ports())
    given = what_each_process_is_given(config)
    assert set(given) >= set(SERVICES) | {"twilio-sandbox", "payments-sandbox", "smtp-sandbox"}
    for name, ports in given.items():
        assert not ports & DEMO_PORTS, (name, sorted(ports & DEMO_PORTS))
