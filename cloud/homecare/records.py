"""Typed records of home care: what the rules read and what the store, the CSV files and the API exchange.

Pure data, no I/O. Times are timezone-aware UTC datetimes; rules judge them in the elder's zone.
"""

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

DEFAULT_TIMEZONE = "Asia/Shanghai"


class Category(StrEnum):
    """The subsidy category of an elder receiving home care; it sets the monthly minimum of visits.

    高龄 (80 and over), and among the elders in need (困难老人) by assessed ability: 自理 (self-care), 半失能
    (semi-disabled: mild or moderate), 失能 (disabled: severe).
    """

    HIGH_AGE = "high_age"
    SELF_CARE = "self_care"
    SEMI_DISABLED = "semi_disabled"
    DISABLED = "disabled"


CATEGORY_NAMES: dict[Category, str] = {
    Category.HIGH_AGE: "高龄",
    Category.SELF_CARE: "自理",
    Category.SEMI_DISABLED: "半失能",
    Category.DISABLED: "失能",
}


class Satisfaction(StrEnum):
    """The answer to a follow-up call (满意/基本满意/不满意)."""

    SATISFIED = "satisfied"
    BASIC = "basic"
    UNSATISFIED = "unsatisfied"


SATISFACTION_NAMES: dict[Satisfaction, str] = {
    Satisfaction.SATISFIED: "满意",
    Satisfaction.BASIC: "基本满意",
    Satisfaction.UNSATISFIED: "不满意",
}


@dataclass(frozen=True, slots=True)
class ServiceItem:
    """A service item a caregiver can record on a visit (助餐, 助洁, ...); `code` is what visits store."""

    code: str
    name: str


# The government-bought items of the Yangzhou scheme; a deployment may offer more (the items a visit records are
# free codes, validated against the deployment's list by the API).
DEFAULT_ITEMS: tuple[ServiceItem, ...] = (
    ServiceItem("meal", "助餐"),
    ServiceItem("cleaning", "助洁"),
    ServiceItem("emergency", "助急"),
    ServiceItem("personal_care", "生活照料"),
    ServiceItem("companionship", "精神慰藉"),
    ServiceItem("errands", "代办服务"),
)


@dataclass(frozen=True, slots=True)
class Location:
    """Where a phone said it was (only when the caregiver's phone shares its location, with consent)."""

    lat: float
    lon: float
    accuracy_m: float | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    """A service provider (服务商) under contract for a town."""

    id: str
    name: str
    town: str
    phone: str = ""


@dataclass(frozen=True, slots=True)
class Caregiver:
    """A caregiver (服务人员): `id` is the job number (服务工号) on their badge."""

    id: str
    name: str
    provider: str
    phone: str = ""


@dataclass(frozen=True, slots=True)
class CategoryVersion:
    """An elder's category from `effective_from` (a day in the elder's zone) until the next version's."""

    effective_from: date
    category: Category


@dataclass(frozen=True, slots=True)
class Elder:
    """An elder receiving government-bought home care, served by one provider."""

    id: str
    name: str
    category: Category
    town: str
    provider: str
    address: str = ""
    package: str = ""
    home: Location | None = None  # the registered address's coordinates, if the bureau geocoded it
    timezone: str = DEFAULT_TIMEZONE
    # The service period, in the elder's zone, both days included: the first day of government-bought care and the
    # last (left, moved into a nursing home, died). None: no limit on that side (whole months).
    since: date | None = None
    until: date | None = None
    # The category's versions as reassessments changed it (the store's history); empty: `category` on every day.
    # `category` is the current one, the latest version's.
    categories: tuple[CategoryVersion, ...] = ()

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.until < self.since:
            raise ValueError(f"until {self.until.isoformat()} is before since {self.since.isoformat()}")
        object.__setattr__(self, "categories", tuple(sorted(self.categories, key=lambda v: v.effective_from)))

    def category_on(self, day: date) -> Category:
        """The category in force on `day`: the latest version effective on or before it. A day before the first
        version (care before the elder was registered, or before the history was kept) takes the first: no earlier
        category was ever registered."""
        if not self.categories:
            return self.category
        at = bisect_right([v.effective_from for v in self.categories], day)
        return self.categories[max(at - 1, 0)].category


@dataclass(frozen=True, slots=True)
class Visit:
    """One work order (工单): signed in by scanning the elder's QR code, signed out at the end.

    `sign_out` is None while the visit runs (or when it never was signed out). `voided` is a provider's or the
    platform's decision that the order fails the duration or quality rules (作废单); `void_reason` says why.
    """

    id: str
    elder: str
    caregiver: str
    provider: str
    sign_in: datetime
    sign_out: datetime | None
    items: tuple[str, ...] = ()
    sign_in_at: Location | None = None
    sign_out_at: Location | None = None
    token: str | None = None
    voided: bool = False
    void_reason: str = ""
    # When the server received the sign-in and the sign-out (None where unknown, e.g. an audit file): a visit whose
    # scans all arrived long after it ended came from an offline queue, or was made up afterwards.
    sign_in_received: datetime | None = None
    sign_out_received: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("sign_in", "sign_out", "sign_in_received", "sign_out_received"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"visit {self.id}: naive {name} {value!r} (give a timezone)")

    @property
    def minutes(self) -> float | None:
        """The visit's length in minutes; None without a sign-out."""
        if self.sign_out is None:
            return None
        return (self.sign_out - self.sign_in).total_seconds() / 60


@dataclass(frozen=True, slots=True)
class MadeUpMonth:
    """A month an elder could not be served for a recorded special reason (特殊原因): its shortfall may be made up
    in the next month (可在下月补增)."""

    elder: str
    month: str  # YYYY-MM, in the elder's zone
    reason: str
    recorded_by: str = ""


@dataclass(frozen=True, slots=True)
class FollowUpResult:
    """A follow-up call's outcome for one visit (回访)."""

    visit: str
    provider: str
    called_at: datetime
    reached: bool
    satisfaction: Satisfaction | None = None


@dataclass(frozen=True, slots=True)
class ComplaintRecord:
    """A complaint about a provider; `valid` is the follow-up staff's decision (None while undecided)."""

    id: str
    provider: str
    received_at: datetime
    valid: bool | None = None


def utc(value: datetime) -> datetime:
    """`value` in UTC; a naive datetime is refused (a time without a zone cannot be judged)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: give a timezone")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Registry:
    """The registry as rules read it: elders, providers and caregivers by id."""

    elders: dict[str, Elder] = field(default_factory=dict)
    providers: dict[str, Provider] = field(default_factory=dict)
    caregivers: dict[str, Caregiver] = field(default_factory=dict)


ID_MAX = 63
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def id_problem(value: str, what: str) -> str | None:
    """Why `value` cannot be the id of an elder, provider, caregiver or visit, in plain words; None when it can.

    Ids are the bureau's own codes (and a caregiver's job number): 1-63 of A-Z, a-z, 0-9, '.', '_' and '-',
    starting with a letter or digit. Never a national ID number: ids appear in QR codes and exports.
    """
    if value == "":
        return f"{what} id is empty"
    if len(value) > ID_MAX:
        return f"{what} id is {len(value)} characters long; at most {ID_MAX} are allowed"
    bad = sorted({c for c in value if c not in _ID_CHARS})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        return f"{what} id {value!r} contains {shown}; only A-Z, a-z, 0-9, '.', '_' and '-' are allowed"
    if not value[0].isalnum():
        return f"{what} id {value!r} must start with a letter or digit"
    return None


def text_problem(value: str, what: str, limit: int, *, required: bool = True) -> str | None:
    """Why `value` cannot be a name, town, address or phone of the registry; None when it can. Control characters
    are refused: they are nobody's name, and they break the bureau's spreadsheets."""
    if required and not value.strip():
        return f"{what} is empty"
    if len(value) > limit:
        return f"{what} is {len(value)} characters long; at most {limit} are allowed"
    if not value.isprintable():
        return f"{what} contains control characters"
    return None


def free_text(value: str, what: str, limit: int = 2000) -> str:
    """A note, reason or complaint, stripped: required, bounded, no control characters but line breaks and tabs.
    Raises ValueError with the reason."""
    cleaned = value.strip()
    if not cleaned:
        raise ValueError(f"say {what}")
    if len(cleaned) > limit:
        raise ValueError(f"{what} is {len(cleaned)} characters long; at most {limit} are allowed")
    if not cleaned.replace("\n", " ").replace("\t", " ").replace("\r", " ").isprintable():
        raise ValueError(f"{what} contains control characters")
    return cleaned


def is_month(value: str) -> bool:
    """True for a month written YYYY-MM (ASCII digits, month 01-12)."""
    return re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", value) is not None
