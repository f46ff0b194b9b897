"""How calls are made (`messaging.voice`), checked when the service starts so that a wrong
setting stops it with the field named, never a call that fails later."""

from dataclasses import dataclass

MACHINE_DETECTION = ("Enable", "DetectMessageEnd")
MAX_TIME_LIMIT_SECONDS = 4 * 3600      # Twilio's own bound for TimeLimit
# how long Twilio may listen for an answering machine before the call speaks (sent as
# MachineDetectionTimeout with MachineDetection; Twilio's default too): a call's hold counts it
MACHINE_DETECTION_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class CallSettings:
    voice: str = "alice"                  # Twilio's <Say voice=…>: reads many languages
    time_limit_seconds: int = 300         # the longest a call may last, sent as TimeLimit
    answer_timeout_seconds: int | None = None   # seconds to ring before no-answer (Timeout)
    machine_detection: str | None = None  # Enable or DetectMessageEnd, or none
    calls_per_second: float = 1.0         # the account's call rate (Twilio's default: 1)

    @classmethod
    def from_config(cls, settings):
        settings = dict(settings or {})
        unknown = sorted(set(settings) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"messaging.voice.{unknown[0]}: not a setting; use one of "
                             f"{', '.join(cls.__dataclass_fields__)}")
        try:
            found = cls(**settings)
            found = cls(voice=found.voice, time_limit_seconds=int(found.time_limit_seconds),
                        answer_timeout_seconds=None if found.answer_timeout_seconds is None
                        else int(found.answer_timeout_seconds),
                        machine_detection=found.machine_detection,
                        calls_per_second=float(found.calls_per_second))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"messaging.voice: {exc}") from None
        if not isinstance(found.voice, str) or not found.voice:
            raise ValueError("messaging.voice.voice: must name a voice, e.g. Polly.Joanna")
        if not 1 <= found.time_limit_seconds <= MAX_TIME_LIMIT_SECONDS:
            raise ValueError(f"messaging.voice.time_limit_seconds: must be 1 to "
                             f"{MAX_TIME_LIMIT_SECONDS}")
        if found.answer_timeout_seconds is not None and not (
                5 <= found.answer_timeout_seconds <= 600):
            raise ValueError("messaging.voice.answer_timeout_seconds: must be 5 to 600")
        if found.machine_detection not in (None, *MACHINE_DETECTION):
            raise ValueError(f"messaging.voice.machine_detection: must be one of "
                             f"{', '.join(MACHINE_DETECTION)}, or null")
        if not found.calls_per_second > 0:
            raise ValueError("messaging.voice.calls_per_second: must be above 0")
        return found
