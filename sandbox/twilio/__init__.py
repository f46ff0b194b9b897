"""An HTTP server answering the part of Twilio's REST API 2010-04-01 that Townhall calls.

The official `twilio` client reaches it through its base URL. Messages: create one, fetch it by
sid, list messages newest first (To, From, DateSent filters, pages). Each message goes
queued -> sent -> delivered/undelivered/failed with a signed status callback after each step
(retried after 0.1, 0.3, 0.9 s; at most `callback_concurrency` in flight).

Behaviour (`settings.Behaviour`, set by flags or POST /_sandbox/config, all or nothing, seeded
chances) injects what a sender at scale must survive: transient failures to retry
(`server_error_rate` 500 with nothing made, `server_error_after_create_rate` 500 with the
message made — the answer lost, `throttle_rate` 429/20429, `queue_full_rate` failed/30001,
`unavailable` 503 on every call, `first_attempts_fail` N per number), outcomes left unknown
for a sweeper (`drop_final_callback_rate`, `drop_callbacks_to`, `stuck_rate`), refusals
(`opted_out` 21610, `reject_to`, `create_error_rate`), failures (`fail_to`, `failure_rate`)
and time (`create_delay_ms`, `callback_delay_ms`, `hold_callbacks`).

Calls (calls.py, call_api.py): create a call with inline `Twiml` (or a `Url` it asks for
TwiML when answered), checked like Twilio (21201, 21213, 21205, 21211, 21212, 32018 for Twiml
over 4,000 characters, 21626, 21209, 21208); fetch; list newest first (To, From, Status,
StartTime filters, pages). A call goes queued -> initiated -> ringing -> in-progress ->
completed, or busy/no-answer after ringing, or failed, as the seeded `call_*` behaviour
decides, with signed call-progress callbacks for the StatusCallbackEvents asked (only
`completed` when none are); its answered seconds are simulated, not waited for.

What it received is read under /_sandbox: `stats` (creates, created, by_to, duplicates,
segments; `calls`: creates, created, by_to), `timeline?from_=` (created_at, num_segments per
message of one sender), `messages` (?to=, ?after=<sid>&limit=), `messages/{sid}`, `calls`
(?to=) and `calls/{sid}` (TwiML, parameters, outcome, callbacks, keypresses); `inbound` plays a
handset texting us, `calls/{sid}/keypress` a person answering a <Gather> (gather.py); `reset`.
"""
