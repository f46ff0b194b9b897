"""A stack run by tests or benches listens on ports of its own, so it never meets another
run or a `make up` demo on the default ports (the bench once wanted the demo's payment port)."""

from servicekit import config as configuration
from servicekit import testing
from servicekit.supervisor import process_specs


def _port_settings(tree, prefix=""):
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _port_settings(value, f"{name}.")
        elif key == "port" or key.endswith("_port"):
            yield name


def test_every_port_setting_of_the_configuration_gets_its_own_value():
    defaults = configuration.load(environ={})
    overridden = configuration.load(environ=testing.own_ports())
    for name in _port_settings(defaults):
        section, _, key = name.rpartition(".")
        assert overridden[section][key] != defaults[section][key], name


def test_no_process_of_an_isolated_stack_listens_on_a_default_port():
    defaults = configuration.load(environ={})
    default_ports = {str(defaults[s][k]) for s, _, k in
                     (n.rpartition(".") for n in _port_settings(defaults))}
    config = configuration.load(environ=testing.own_ports())
    for name, argv in process_specs(config):
        assert not default_ports & set(argv), (name, argv)
    assert testing.own_ports()["TOWNHALL_GATEWAY__PORT"] not in default_ports
