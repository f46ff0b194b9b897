"""Quiet hours at dispatch: a text or call that would go out inside its community's quiet
hours waits for the window to open, queued, neither dropped nor sent (the rules are
contracts.quiet_hours). One decision per community of a batch, in the community's time zone
and with the organization's window, both as they were when the send was accepted; an
emergency waits for neither. A held delivery keeps `held_until`, the time it goes, which
the release timer hands it on at (never a worker sleeping)."""

from contracts.quiet_hours import DEFAULT_WINDOW, quiet_window, split_batch

DEFAULT_ZONE = "UTC"


def hold_quiet(communication, deliveries, now):
    """The deliveries that may go now, in their order; the others are held."""
    window = _window(communication.quiet_hours)
    zones = communication.timezones or {}
    by_community = {}
    for d in deliveries:
        by_community.setdefault(d.community_id or communication.community_id, []).append(d)
    going = set()
    for community_id, group in by_community.items():
        decision = split_batch(group, now, zones.get(community_id) or DEFAULT_ZONE, window,
                               emergency=bool(communication.emergency))
        for d in decision.held:
            d.next_attempt_at = d.held_until = decision.held_until
        going.update(d.id for d in decision.send_now)
    return [d for d in deliveries if d.id in going]


def _window(setting):
    if not setting or setting.get("default"):
        return DEFAULT_WINDOW
    return quiet_window(setting["start"], setting["end"])
