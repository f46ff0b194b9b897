"""How a service process stops on its signals (servicekit.runner.Shutdown)."""

import signal

from servicekit.runner import Shutdown


class Runner:
    def __init__(self):
        self.stops = 0

    def stop(self):
        self.stops += 1

    def kill(self):
        raise AssertionError("nothing outlives the grace period here")


def run_now(function, *args):
    function(*args)


def test_the_first_signal_stops_every_runner_once_and_later_ones_change_nothing():
    runners = [Runner(), Runner()]        # a service and its companion pool
    shut_down = Shutdown(runners, grace_seconds=5, spawn=run_now)
    shut_down(signal.SIGINT)              # Ctrl-C, to the whole process group
    shut_down(signal.SIGTERM)             # then the supervisor's own
    shut_down(signal.SIGTERM)
    assert [r.stops for r in runners] == [1, 1]
