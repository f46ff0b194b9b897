"""Words shared by every service and the HTTP API."""

CHANNELS = ("sms", "email", "voice")

# A delivery's statuses, in the order they rank (services/messaging/lifecycle.py lists the
# moves between them); every terminal status ranks above every other, so a terminal state
# wins over a late callback.
DELIVERY_STATUSES = (
    "pending",      # accepted, not yet checked
    "queued",       # consent given, credits held, waiting for a dispatch worker
    "sending",      # claimed by a dispatch worker or handed to the provider, no final answer
    "sent",         # the provider accepted it and passed it on to the carrier
    "delivered",    # terminal: the handset or mailbox has it
    "undelivered",  # terminal: the carrier could not deliver it
    "failed",       # terminal: the provider refused it or it could not be sent
    "suppressed",   # terminal: not sent (consent, preference, no contact point, duplicate)
    "cancelled",    # terminal: the send was cancelled before it reached the provider
    "unconfirmed",  # terminal: handed to the provider, no final status however long we asked
)
TERMINAL_STATUSES = frozenset({"delivered", "undelivered", "failed", "suppressed", "cancelled",
                               "unconfirmed"})
STATUS_RANK = {status: rank for rank, status in enumerate(DELIVERY_STATUSES[:4])}
STATUS_RANK.update({status: len(STATUS_RANK) for status in TERMINAL_STATUSES})

# A communication's status, from its deliveries' (lifecycle.overall)
COMMUNICATION_STATUSES = ("scheduled", "accepted", "preparing", "sending", "completed",
                          "cancelled")

# what a terminal delivery is charged for: delivered, and unconfirmed (the provider took it
# and never said more; carriers bill what they send); every other end releases its hold
CHARGED_STATUSES = frozenset({"delivered", "unconfirmed"})

# a call that reached nobody (Twilio's CallStatus): its status is also its reason, and it is
# free
UNREACHED_CALL_STATUSES = frozenset({"busy", "no-answer", "failed", "canceled"})

# Work orders (services/tickets). A ticket is of one unit or of a community's common area.
TICKET_KINDS = ("unit", "common_area")
# Pilera's statuses; services/tickets/moves.py lists the moves between them and who may
# make each
TICKET_STATUSES = ("new", "acknowledged", "approved", "in_progress", "in_review", "on_hold",
                   "completed", "cancelled", "rejected")
# open: still work to do (the dashboard's and the overdue sweeper's)
OPEN_TICKET_STATUSES = frozenset({"new", "acknowledged", "approved", "in_progress",
                                  "in_review", "on_hold"})
TICKET_PRIORITIES = ("low", "normal", "high", "emergency")
# who may read a comment, an attachment or a move's note
VISIBILITIES = ("managers_and_residents", "managers_only")
ASSIGNEE_TYPES = ("staff", "team", "vendor")
# an organization's categories until it sets its own
DEFAULT_TICKET_CATEGORIES = ("plumbing", "electrical", "appliance", "heating_cooling",
                             "pest_control", "locks_and_keys", "doors_and_windows",
                             "cleaning", "grounds", "other")
# hours from creation to the due date, per priority, until an organization sets its own
DEFAULT_RESPONSE_TARGETS_HOURS = {"emergency": 4, "high": 24, "normal": 72, "low": 168}
# who may reopen a completed ticket (an organization setting)
REOPEN_POLICIES = ("nobody", "staff", "staff_and_reporter")
