"""Townhall's own CPU time: user + system seconds of a stack's service and gateway processes
(and any children they start), sandboxes left out, read with psutil at the start and at the
end of a measured window. A figure that holds steadier than wall-clock rates on a shared
machine: other engineers' work slows the run but does not add to these seconds."""

import psutil

SANDBOX_SUFFIX = "-sandbox"


def townhall_processes(stack):
    """{name: pid} of the stack's own processes: every service instance and the gateway."""
    return {name: proc.pid for name, proc in stack.processes.items()
            if not name.endswith(SANDBOX_SUFFIX)}


def read(pids):
    """{name: cpu seconds so far} of each named process with its live descendants."""
    seconds = {}
    for name, pid in pids.items():
        try:
            root = psutil.Process(pid)
            family = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            raise RuntimeError(f"process {name} (pid {pid}) is gone") from None
        total = 0.0
        for process in family:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue  # ended meanwhile: once reaped, its parent's children_* hold it
            # children_*: children that ended and were reaped count for their parent
            total += times.user + times.system + times.children_user + times.children_system
        seconds[name] = total
    return seconds


class Window:
    """CPU seconds of named processes between start() and stop()."""

    def __init__(self, pids):
        self.pids = dict(pids)
        self.before = None
        self.used = None

    def start(self):
        self._machine_before = psutil.cpu_times()
        self.before = read(self.pids)
        return self

    def stop(self):
        self.used = spent(self.before, read(self.pids))
        self.machine_busy = busy_share(self._machine_before, psutil.cpu_times())
        return self.used

    @property
    def total(self):
        return sum(self.used.values())


def spent(before, after):
    """{name: seconds used} between two readings of the same processes."""
    missing = sorted(set(before) ^ set(after))
    if missing:
        raise ValueError(f"readings of different processes: {', '.join(missing)}")
    used = {name: after[name] - before[name] for name in before}
    backwards = [name for name, seconds in used.items() if seconds < -0.01]
    if backwards:
        raise ValueError(f"CPU time went backwards for {', '.join(backwards)}: a process was "
                         "replaced between the readings")
    return {name: max(0.0, seconds) for name, seconds in used.items()}


def busy_share(before, after):
    """The share (0..1) of the machine's CPU time, every core, that was not idle between two
    psutil.cpu_times() readings: whoever used it, Townhall, the sandboxes, PostgreSQL,
    RabbitMQ or another engineer's work. Near 1, a rate measures the machine."""
    idle_fields = ("idle", "iowait")
    spans = {field: getattr(after, field) - getattr(before, field) for field in after._fields
             if field not in ("guest", "guest_nice")}  # already counted in user and nice
    total = sum(spans.values())
    if total <= 0:
        return 0.0
    return 1 - sum(spans.get(field, 0.0) for field in idle_fields) / total


def per_delivery_ms(seconds, deliveries):
    return 1000 * seconds / deliveries if deliveries else float("inf")
