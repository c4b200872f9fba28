"""Pydantic models of every payload in station protocol v1.

Strict types: a vendor sending `"5"` for a count or a Unix number for a timestamp is told so, not guessed at.
Unknown extra fields are accepted (a newer agent inside v1) but set aside in `model_extra`, unvalidated: a receiver
can count them, and `encode()` never writes them out again. Numbers must be finite (JSON has no NaN or Infinity).
"""

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from station_protocol.detail import Detail
from station_protocol.ids import ID_PATTERN

StationId = Annotated[str, Field(pattern=ID_PATTERN, description="1-63 of a-z 0-9 -, starting with a letter or digit")]
DeviceId = StationId
# Enrolled person ids are chosen by the station; anonymous ids look like `anon-…`. Never an encoding: short.
PersonId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
CallId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
CheckId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="a time check's id")]
Timestamp = Annotated[AwareDatetime, Field(description="RFC 3339 with a UTC offset")]
Count = Annotated[int, Field(ge=0)]
# A heartbeat's `boot_s` or `uptime_s` above this (about 31 years) is no uptime a station has.
MAX_BOOT_S = 1e9
# How a counter's raw cumulative registers moved at a flow reading, when not plainly forward (added inside v1):
# `wrap` passed 2**32 (counted as usual); `jump` rose, or `drop` fell, out of line with the last trusted reading
# (counted nobody, held until the next reading confirms or contradicts it); `reset` confirmed a restart from zero (a
# power cut: what the counter shows since is counted); `rebase` confirmed an out-of-line value as the new baseline
# without counting the step to it (a swapped counter, a wrong word order, a long gap).
CounterChange = Literal["wrap", "jump", "drop", "reset", "rebase"]
# What one flow reading can plausibly hold (added inside v1: beyond them a reading is refused, naming the field). A
# doorway passes at most a few people a second: `in` and `out` are each at most MAX_FLOW_PER_S a second of the period,
# counted as at least FLOW_RATE_WINDOW_S (a reading may carry people from before its period: a power cut confirmed, a
# misread forgotten), and never more than MAX_FLOW_COUNT. The reference agent's largest reading with its default
# limits is 20 000 (a `reset`: twice its max_step). A period longer than a leap year is no counter's interval.
MAX_FLOW_PER_S = 10
FLOW_RATE_WINDOW_S = 3_600
MAX_FLOW_COUNT = 100_000
MAX_FLOW_PERIOD_S = 366 * 86_400
# A device's raw cumulative counter, an event's `seq` and a heartbeat's `outbox`: what a signed 64-bit integer holds
# (databases, InfluxDB).
MAX_COUNTER = 2**63 - 1


def max_flow_count(period_s: int) -> int:
    """The most people a flow reading of `period_s` seconds may count in either direction."""
    return min(MAX_FLOW_COUNT, MAX_FLOW_PER_S * max(period_s, FLOW_RATE_WINDOW_S))


class _Payload(BaseModel):
    # validate_by_name lets Python code build a flow with `in_=` (`in` is a keyword); decode() validates by the
    # protocol's names only, so on the wire `in_` is an unknown field like any other.
    model_config = ConfigDict(strict=True, extra="allow", frozen=True, validate_by_name=True, validate_by_alias=True,
                              allow_inf_nan=False)

    # An int fixed to 1 rather than Literal[1], which would also take true and 1.0.
    v: int = Field(ge=1, le=1, description="protocol version, 1")


class Event(_Payload):
    """Fields common to every device event (flow, door, face, call, health)."""

    id: UUID = Field(description="unique event id, the idempotency key (UUIDv7 recommended)")
    station: StationId
    device: DeviceId
    seq: Count = Field(le=MAX_COUNTER, description="per-device sequence number, strictly increasing across restarts")
    ts: Timestamp = Field(description="when it happened")
    sent: Timestamp | None = Field(default=None, description="when the agent published it")
    clock: Literal["unsynced"] | None = Field(
        default=None, description="`unsynced`: stamped by a clock not yet synchronised in an earlier boot")


class Flow(Event):
    """People entering and leaving in the `period_s` seconds that end at `ts`."""

    period_s: int = Field(gt=0, le=MAX_FLOW_PERIOD_S)
    # The bound is checked by _plausible (one message for both limits); the schema states the absolute one.
    in_: Count = Field(alias="in", json_schema_extra={"maximum": MAX_FLOW_COUNT}, description=(
        f"people entering in the period: at most {MAX_FLOW_PER_S} a second of it, counted as at least "
        f"{FLOW_RATE_WINDOW_S} s, and at most {MAX_FLOW_COUNT}"))
    out: Count = Field(json_schema_extra={"maximum": MAX_FLOW_COUNT},
                       description="people leaving in the period, bounded as `in`")
    counter_in: Count | None = Field(default=None, le=MAX_COUNTER)
    counter_out: Count | None = Field(default=None, le=MAX_COUNTER)
    counter_change: CounterChange | None = Field(
        default=None, description="how the raw counters moved, when not plainly forward")

    @field_validator("in_", "out")
    @classmethod
    def _plausible(cls, count: int, info: ValidationInfo) -> int:
        period_s = info.data.get("period_s")  # absent when it was itself refused: that problem is named already
        if period_s is not None and count > max_flow_count(period_s):
            raise ValueError(
                f"{count} people in {period_s} s is not a plausible count (at most {max_flow_count(period_s)}: "
                f"{MAX_FLOW_PER_S} a second over at least {FLOW_RATE_WINDOW_S} s, never more than {MAX_FLOW_COUNT})")
        return count


class Door(Event):
    """A door magnet's state change; `fault` when the wire is cut or the reading is implausible."""

    state: Literal["open", "closed", "fault"]


class Face(Event):
    """Someone recognised (enrolled id) or seen (anonymous id `anon-…`). Never an image or an encoding."""

    person: PersonId
    role: Literal["elder", "staff", "unknown"]
    distance: float = Field(ge=0)


class Call(Event):
    """An emergency call pressed, or cancelled by a long press (a cancel repeats the press's `call` id)."""

    action: Literal["pressed", "cancelled"]
    call: CallId


class Health(Event):
    """A device's health (retained)."""

    ok: bool
    error: str | None = Field(default=None, max_length=500)
    detail: Detail | None = None  # a flat map of a few short values (station_protocol.detail)


class Status(_Payload):
    """Agent online/offline (retained; also the MQTT last will with `online: false`)."""

    station: StationId
    online: bool
    ts: Timestamp


class Heartbeat(_Payload):
    """The agent's periodic heartbeat."""

    station: StationId
    ts: Timestamp
    version: str = Field(max_length=64)
    uptime_s: float = Field(ge=0, le=MAX_BOOT_S)
    outbox: Count = Field(le=MAX_COUNTER, description="events waiting in the outbox")
    clock_offset_ms: float | None = None
    check: CheckId | None = Field(
        default=None, description="the `check` of the `cmd/time-check` this heartbeat answers (sent on receiving it)")
    asked: Timestamp | None = Field(
        default=None, description="that command's `ts` as received: when the cloud asked, by the cloud's clock")
    # Added inside v1 (cloud.rules.clock_steps): within one boot, `ts - boot_s` stays put unless the wall clock is
    # stepped, so a clock set back and forth while the station was offline shows in the heartbeats it kept.
    boot: UUID | None = Field(default=None, description="the kernel's boot id (/proc/sys/kernel/random/boot_id)")
    boot_s: float | None = Field(default=None, ge=0, le=MAX_BOOT_S,
                                 description="seconds since the system booted (CLOCK_BOOTTIME) when `ts` was read")
    clock: Literal["unsynced"] | None = Field(
        default=None, description="`unsynced`: the agent does not trust its clock (not yet synchronised)")

    @model_validator(mode="after")
    def _answer_whole(self) -> "Heartbeat":
        if (self.check is None) != (self.asked is None):
            raise ValueError("check and asked go together: an answer to a time check carries both, other "
                             "heartbeats neither")
        if (self.boot is None) != (self.boot_s is None):
            raise ValueError("boot and boot_s go together: a heartbeat carries both (the boot id and the seconds "
                             "since that boot) or neither")
        return self


class TimeCheck(_Payload):
    """Cloud → station: the cloud's time, asking for the station's. The agent answers at once with a heartbeat that
    carries `check` and `asked` (this `ts`) beside its own `ts`: an answer stamped before the question was asked can
    only come from a clock behind, however slow the link."""

    check: CheckId
    ts: Timestamp = Field(description="when the cloud sent it, by the cloud's clock")


class CallAck(_Payload):
    """Cloud → station: an emergency call was acknowledged; the station confirms it to the elder."""

    call: CallId
    by: str = Field(min_length=1, max_length=128)
    ts: Timestamp


DeviceEvent = Flow | Door | Face | Call | Health
Message = Flow | Door | Face | Call | Health | Status | Heartbeat | CallAck | TimeCheck
