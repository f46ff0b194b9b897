"""Who gets what: a page of the resolved audience turned into deliveries — pure rules.

In the order they apply:
1. directory resolves the audience (communities, units, residents, groups, occupancy) into
   residents who live there now, each once, in pages ordered by resident id;
2. each resident gets one delivery per channel of the communication;
3. a channel's address is the resident's primary phone (sms) or email (email); a resident
   without one still gets a delivery, which consent suppresses with its reason;
4. on each channel one message goes to each address: the first resident (in audience order)
   with an address takes it, every later one with the same address is `suppressed` with
   reason `duplicate_address` — two residents of one household who share a phone get one
   text. Emails compare without case; phones are E.164 already.
"""

from dataclasses import dataclass

ADDRESS_FIELDS = {"sms": "phone", "email": "email", "voice": "phone"}
DUPLICATE_ADDRESS = "duplicate_address"


@dataclass(frozen=True)
class Planned:
    """One delivery to create: `reason` is set when it is suppressed from the start."""

    resident_id: str
    community_id: str
    channel: str
    address: str | None
    reason: str | None = None


def address_key(channel, address):
    """The form two addresses are compared in."""
    if address is None:
        return None
    return address.strip().lower() if channel == "email" else address.strip()


def plan(residents, channels, taken):
    """The deliveries of one page. `taken` is {channel: set of address keys} already given to
    earlier residents (earlier pages included); it is updated with this page's addresses."""
    planned = []
    for resident in residents:
        for channel in channels:
            address = resident.get(ADDRESS_FIELDS[channel])
            key = address_key(channel, address)
            seen = taken.setdefault(channel, set())
            reason = None
            if key is not None:
                if key in seen:
                    reason = DUPLICATE_ADDRESS
                else:
                    seen.add(key)
            planned.append(Planned(resident["id"], resident["community_id"], channel, address,
                                   reason))
    return planned


def addresses_of(residents, channels):
    """{channel: address keys} a page would use, to ask which earlier pages already took."""
    return {channel: {address_key(channel, r.get(ADDRESS_FIELDS[channel])) for r in residents
                      if r.get(ADDRESS_FIELDS[channel])} for channel in channels}
