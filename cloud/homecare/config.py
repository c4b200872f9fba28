"""Every number of the home-care rules, with its policy default (docs/homecare.md gives each one's source).

Part of the deployment's rules file under the key `homecare`, so the worker, the API and `cloud derive` judge with
the same numbers.
"""

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cloud.homecare.records import Category


def _minimums() -> dict[Category, int]:
    return {Category.HIGH_AGE: 1, Category.SELF_CARE: 1, Category.SEMI_DISABLED: 2, Category.DISABLED: 4}


class HomecareConfig(BaseModel):
    """Thresholds of home-care supervision. Local policy: configure it, do not edit code.

    Shares are fractions (0.9 = 90 %). Where the policy says 以上/以内/不低于 the number itself is included (≥ or ≤);
    where it says 未达到/低于/超过 it is excluded (< or >).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A visit counts when it lasts at least this long, sign-in to sign-out (每次服务时长不低于1小时).
    min_visit_minutes: float = Field(default=60, gt=0)
    # Counted visits an elder must get each month, by category (每月不少于1/1/2/4次).
    monthly_minimum: dict[Category, int] = Field(default_factory=_minimums)
    # A month missed for a recorded special reason may be made up in the next month (可在下月补增).
    make_up_next_month: bool = True
    # A month the elder's service period covers only in part (joined or left in it) requires the month's minimum
    # times the share of its days in the period, rounded up: any day of service owes a whole visit; a month whose
    # category changed owes each day's share of the minimum of the category in force on it. False: the full minimum
    # in every month the period touches (the higher category's, in a month with two).
    prorate_partial_months: bool = True
    # Different service items an elder must get in a year (每人每年服务项目不得少于3个).
    min_items_per_year: int = Field(default=3, ge=0)

    # The platform's follow-up share of each day's work orders (线上回访率不低于日工单的10%).
    followup_share: float = Field(default=0.10, gt=0, le=1)
    # A provider follows up this share of its own orders (对日工单进行100%回访).
    provider_followup_share: float = Field(default=1.0, gt=0, le=1)
    # A day's sample is drawn once the day (in the deployment's zone) has been over this long, so most orders queued
    # offline have arrived; orders recorded later are drawn in a top-up with the same seed.
    sample_delay_hours: float = Field(default=2, ge=0)

    # Satisfaction (满意率): share of answered follow-ups that are 满意 (and 基本满意 if counted so).
    basic_counts_as_satisfied: bool = True
    satisfaction_rectify_below: float = Field(default=0.90, gt=0, le=1)  # 未达到90%: rectify within rectify_days
    rectify_days: int = Field(default=30, ge=1)
    satisfaction_terminate_below: float = Field(default=0.85, gt=0, le=1)  # 未达85%: contract may be ended
    renew_one_year_from: float = Field(default=0.90, gt=0, le=1)  # 全年90%以上: may renew one year
    renew_two_years_from: float = Field(default=0.95, gt=0, le=1)  # 全年95%以上: may renew two years
    # Valid complaints per work order in a month: at most this (控制在2.5%以内) ...
    complaint_rate_max: float = Field(default=0.025, ge=0, le=1)
    # ... and above this in `complaint_terminate_months` consecutive months the contract may be ended (连续两次超过5%).
    complaint_terminate_above: float = Field(default=0.05, ge=0, le=1)
    complaint_terminate_months: int = Field(default=2, ge=1)
    # A town's quarterly survey below this requires rectification (满意度低于80%的,要求限时整改).
    town_survey_rectify_below: float = Field(default=0.80, gt=0, le=1)

    # Fraud signals: each an alert to the town of the elders it is about (or the bureau) with the evidence, never a
    # penalty.
    # One caregiver in two homes at once: signed-in spans overlapping by more than this.
    overlap_minutes: float = Field(default=1, ge=0)
    # Visits just long enough, again and again: a caregiver's month with at least `just_long_enough_visits` counted
    # visits of which at least `just_long_enough_share` end within `just_long_enough_margin_minutes` of the minimum.
    just_long_enough_margin_minutes: float = Field(default=5, gt=0)
    just_long_enough_visits: int = Field(default=8, ge=1)
    just_long_enough_share: float = Field(default=0.8, gt=0, le=1)
    # Sign-in or sign-out this far (metres, beyond the phone's stated accuracy) from the elder's registered address.
    far_away_m: float = Field(default=500, gt=0)
    # The same elder's QR code signed in more than this many times in one day, or twice within `qr_min_gap_minutes`.
    qr_max_per_day: int = Field(default=2, ge=1)
    qr_min_gap_minutes: float = Field(default=60, ge=0)
    # An order with no sign-out this long after its sign-in.
    no_sign_out_hours: float = Field(default=12, gt=0)
    # Visits habitually uploaded late: a counted visit is late when its sign-in or its sign-out reached the server
    # more than `late_upload_hours` after the phone's time of that scan. A caregiver's month (and, apart from the
    # caregivers raised themselves, a provider's month) with at least `late_upload_visits` late visits making at
    # least `late_upload_share` of its counted visits. One late upload (a phone without signal) never raises it.
    late_upload_hours: float = Field(default=24, gt=0)
    late_upload_visits: int = Field(default=4, ge=1)
    late_upload_share: float = Field(default=0.25, gt=0, le=1)
    # How far back the worker looks for fraud signals on each pass (the monthly habits, visits just long enough and
    # late uploads, read whole months: from the first day of the month this window starts in).
    fraud_window_days: int = Field(default=35, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> "HomecareConfig":
        missing = [c.value for c in Category if c not in self.monthly_minimum]
        if missing:
            raise ValueError(f"monthly_minimum has no value for {', '.join(missing)}")
        if any(v < 0 for v in self.monthly_minimum.values()):
            raise ValueError("monthly_minimum values must not be negative")
        if self.satisfaction_terminate_below > self.satisfaction_rectify_below:
            raise ValueError("satisfaction_terminate_below must not be above satisfaction_rectify_below")
        if self.renew_one_year_from > self.renew_two_years_from:
            raise ValueError("renew_one_year_from must not be above renew_two_years_from")
        if self.complaint_rate_max > self.complaint_terminate_above:
            raise ValueError("complaint_rate_max must not be above complaint_terminate_above")
        return self

    def required(self, category: Category) -> int:
        return self.monthly_minimum[category]
