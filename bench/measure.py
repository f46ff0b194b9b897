"""Small measuring tools shared by the phases: percentiles, rates and bounded waits."""

import time


class BenchTimeout(RuntimeError):
    """A phase did not finish within its time budget."""


class Deadline:
    """A time budget; `check()` raises BenchTimeout naming what was being waited for."""

    def __init__(self, seconds, what):
        self.seconds = seconds
        self.what = what
        self.ends = time.monotonic() + seconds

    def remaining(self):
        return max(0.0, self.ends - time.monotonic())

    def expired(self):
        return time.monotonic() >= self.ends

    def check(self, progress=""):
        if self.expired():
            detail = f" ({progress})" if progress else ""
            raise BenchTimeout(f"{self.what}: gave up after {self.seconds:.0f}s{detail}")


def percentile(samples, fraction):
    """Nearest-rank percentile of a non-empty list of numbers."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[rank]


def rate(count, seconds):
    return count / seconds if seconds > 0 else float("inf")


def latency_figures(samples_seconds):
    """p50 and p99 in milliseconds."""
    return (percentile(samples_seconds, 0.50) * 1000, percentile(samples_seconds, 0.99) * 1000)
