"""Every number the rules use, with its policy default; one validated model for the worker, the API and
`cloud derive`."""

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cloud.homecare.config import HomecareConfig


class RulesConfig(BaseModel):
    """Thresholds and windows of the derivation rules. Local policy: configure it, do not edit code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Day verdict on compliance = open share of the SCHEDULED minutes (unknown minutes are never open):
    # open >= 90 %, closed <= 10 %.
    open_share: float = Field(default=0.9, gt=0, le=1)
    closed_share: float = Field(default=0.1, ge=0, lt=1)
    # Less than this share of the scheduled minutes known (devices online) -> verdict `unknown`.
    min_known_share: float = Field(default=0.5, gt=0, le=1)
    # A month (or quarter) whose known share of the scheduled minutes is below this has compliance null: too little
    # data to judge it, never 1.0 from a sliver.
    month_min_known_share: float = Field(default=0.5, gt=0, le=1)
    # An unknown stretch inside working hours, after the station was seen that day, at least this long: the station's
    # own equipment was off (the agent stores and forwards through network outages). Flagged on the day, town alert.
    # A shorter gap between two pieces of evidence is not an outage: the timeline takes it as known.
    equipment_off_minutes: float = Field(default=15, gt=0)

    # Evidence the cloud received more than this long after its time, for a time when it was hearing the station live
    # (messages received promptly, at most `liveness_minutes` apart), is set aside: a connected agent's outbox
    # delivers within seconds, so it was withheld and sent after the fact (a shut day "filled in" once judged).
    late_delivery_minutes: float = Field(default=30, gt=0)
    # A reading received late whose device sequence number (`seq`) contradicts its time is set aside
    # (cloud.rules.sequence): its number must lie above that of its device's nearest promptly received reading
    # stamped more than this many seconds before it, and below that of the nearest stamped more than this after it.
    # An honest device's readings are not written in exactly the order of their times: a camera writes an
    # unrecognised visitor's face, stamped when last seen, when its track ends (`track_max_age_s`, 2 s), after faces
    # seen meanwhile; a Pi's clock may be stepped by NTP. 300 s covers these many times over; a fabricated day is
    # hours from the live readings that catch it.
    sequence_slack_s: float = Field(default=300, ge=0)
    # How far from a late reading its anchors (its device's nearest promptly received readings, cloud.rules.sequence)
    # may be: the worker and the evidence export look this far beyond the days they load (a restarted-low sequence is
    # caught by the day before's numbers). 7 days: a station's devices report every working day.
    sequence_context_days: float = Field(default=7, gt=0)

    # A station's clock behind (cloud.rules.clock_check): an answer to the cloud's time check stamped more than this
    # many minutes before the cloud asked makes its day's readings count nowhere (they cannot be placed in time). An
    # honest clock answers after it was asked, however slow the link, so the margin is for the cloud's own clock: one
    # running ahead would find every station behind. 5, the protocol's tolerance for a time ahead of the receiver's
    # (the same trust in the cloud's clock, the other way); a station could gain at most this much unseen, a third of
    # a spot check's grace.
    clock_behind_minutes: float = Field(default=5, gt=0)
    # A station that does not answer the time checks (cloud.rules.unanswered): a day with no answer at all, and at
    # least this many checks asked while the station was heard live left unanswered, is judged like a day whose
    # clock was found behind (on nothing): otherwise a station could put its clock behind and simply stop answering.
    # 4: an hour of checks at the sender's default of one per 15 minutes, so a link that drops a few checks never
    # flags a day an honest agent answered once. 0 turns the rule off.
    clock_unanswered_checks: int = Field(default=4, ge=0)
    # A station's clock stepped within one boot (cloud.rules.clock_steps): two of its heartbeats of one boot, next to
    # each other in the time since that boot, whose wall-clock time less their time since boot differ by more than
    # this many minutes. Both times are the station's own, so no margin for the cloud's clock is needed; an honest
    # clock is stepped by NTP by seconds at most once it is synchronised (its first sync is in heartbeats marked
    # unsynced, left out). 5, as for a clock behind: a shift under it is not material.
    clock_step_minutes: float = Field(default=5, gt=0)
    # How far from a day its nearest heartbeat before or after may be and still be compared with the day's (the
    # worker and the evidence export look this far beyond the days they load). 7 days: an agent heartbeats every
    # minute, kept through outages.
    clock_step_context_days: float = Field(default=7, gt=0)

    # Timeline: how long one piece of evidence (heartbeat, any event) proves the agent was alive.
    liveness_minutes: float = Field(default=10, gt=0)
    # Activity (an entry, a visitor's face) proves the station open for this long after it (the winter door may be
    # shut). Staff faces are not activity: staff alone do not make a station open to the public.
    activity_minutes: float = Field(default=30, ge=0)
    # A door open at the start of a day is carried over from at most this far back.
    door_lookback_hours: float = Field(default=24, ge=0)

    # Monthly elders served by grade (the Qidong civil affairs bureau's operating plan for community stations,
    # 启民发〔2021〕119号); 5A is not stated there, so it takes 4A's figure.
    grade_thresholds: dict[str, int] = Field(default_factory=lambda: {"2A": 50, "3A": 100, "4A": 300, "5A": 300})
    # Annual operating subsidy per grade in CNY for a station that runs normally (the same plan: 5A 3.2万, 4A 1.6万,
    # 3A 0.8万, 2A 0.5万), and the annual score below which none is paid ("考核分低于80分 ... 不予发放"): 80 earns it.
    subsidy_cny: dict[str, int] = Field(default_factory=lambda: {"5A": 32000, "4A": 16000, "3A": 8000, "2A": 5000})
    pass_score: float = Field(default=80.0, ge=0, le=100)
    # Whether anonymous visitors (faces not enrolled, role `unknown`) count toward the monthly threshold.
    count_anonymous_visitors: bool = False
    # An enrolled elder's face counts only when the door's people counter counted a crossing (in or out) within this
    # many seconds of it, each crossing for one elder: a photograph held up to the camera crosses nothing. 120 s: an
    # elder is usually recognised a few seconds after the counter, but may stop at the door (coats, a chat with the
    # staff) before facing the camera, or be recognised only on the way out.
    face_crossing_window_s: float = Field(default=120, ge=0)
    # An elder seen only while no counter reported (none installed, or it was off) cannot be corroborated. False:
    # they do not count that day (the counter is part of every station's equipment; switching it off must not be a
    # way to count photographs). True: they count, and the day is flagged and the town alerted (a county whose
    # stations have no counters yet).
    count_faces_without_counter: bool = False
    # A day with at least this many elders not counted for want of a crossing (or counted unchecked) is flagged and
    # the town alerted. 3: a counter misses the odd crossing (two people abreast); more on one day is for the town.
    faces_uncorroborated_alert: int = Field(default=3, ge=1)

    # Spot checks: a window fails when it touches a continuous closed stretch longer than this (measured in full, so
    # how the window is cut never matters); a stretch not shown open that long but not shown closed either (devices
    # off) makes it `unverifiable`.
    spot_check_grace_minutes: float = Field(default=15, ge=0)
    # An opening shorter than this between two closed stretches (inside one session) does not split them for a spot
    # check: the stretch is measured through it, the opening included. A station shut all day whose door is opened
    # for a few seconds every 14 minutes is not open, and an inspector at the door would find it shut almost every
    # time. 10: a visitor's entry keeps a station open for `activity_minutes` (30), far longer, so an honest station
    # whose door stays shut in winter is not touched. 0 turns it off (every opening splits a stretch). The day's
    # timeline and compliance do not use it.
    spot_check_min_open_minutes: float = Field(default=10, ge=0)
    # Failed station-days in a year that set the veto (一票否决), "three or more (含三次)".
    veto_failures: int = Field(default=3, ge=1)
    # The veto counts the bureau's spot checks (the bureau checks every quarter). A town's checks of its own stations
    # are its supervision: judged and alerted like any check, not counted. True: a county whose towns check on the
    # bureau's behalf counts them too.
    veto_counts_town_checks: bool = False

    # Alerts.
    call_escalate_minutes: float = Field(default=5, gt=0)
    offline_alert_minutes: float = Field(default=30, gt=0)
    anomaly_door_closed_hours: float = Field(default=2, gt=0)
    anomaly_door_closed_entries: int = Field(default=5, ge=1)
    anomaly_counter_zero_faces: int = Field(default=5, ge=1)
    anomaly_camera_silent_entries: int = Field(default=20, ge=1)

    # Home-care visits, follow-ups and fraud signals (its own keys, under `homecare:`).
    homecare: HomecareConfig = Field(default_factory=HomecareConfig)

    @model_validator(mode="after")
    def _shares_ordered(self) -> "RulesConfig":
        if self.closed_share >= self.open_share:
            raise ValueError("closed_share must be below open_share")
        if self.late_delivery_minutes <= self.liveness_minutes:
            raise ValueError("late_delivery_minutes must be above liveness_minutes (an agent back after a short drop "
                             "delivers what it kept by its next message)")
        if any(v < 0 for v in self.grade_thresholds.values()) or any(v < 0 for v in self.subsidy_cny.values()):
            raise ValueError("grade_thresholds and subsidy_cny must not be negative")
        return self

    def threshold(self, grade: str) -> int:
        """The monthly elders threshold of a grade; unknown grades are a configuration error."""
        try:
            return self.grade_thresholds[grade]
        except KeyError:
            raise ValueError(f"no monthly threshold configured for grade {grade!r}") from None
