"""Words shared by every service and the HTTP API."""

CHANNELS = ("sms", "email", "voice")

# A delivery only moves forward along this order; terminal states win over late ones.
DELIVERY_STATUSES = (
    "pending",      # accepted, not yet checked
    "queued",       # consent given, credits held, waiting for a dispatch worker
    "sending",      # handed to the provider, answer not yet recorded
    "sent",         # the provider accepted it
    "delivered",    # terminal: the handset or mailbox has it
    "undelivered",  # terminal: the carrier could not deliver it
    "failed",       # terminal: the provider refused or it could not be sent
    "suppressed",   # terminal: not sent (consent, preference, no contact point)
)
TERMINAL_STATUSES = frozenset({"delivered", "undelivered", "failed", "suppressed"})
STATUS_RANK = {status: rank for rank, status in enumerate(DELIVERY_STATUSES[:4])}
STATUS_RANK.update({status: len(STATUS_RANK) for status in TERMINAL_STATUSES})
