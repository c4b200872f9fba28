"""A simulated home-care provider with caregivers, elders of every category and a month of visits, including every
fraud pattern the bureau asks about. Pure (seeded): the tests and `eldercare demo` use it.

Two providers: `p-kangle` (汇龙镇, six caregivers) and `p-leling` (南阳镇, two caregivers, all honest). Honest
visits last 65-150 minutes, one per elder per day, never overlapping a caregiver's other visits, signed within 80 m
of the elder's home when the phone shares its location. Planted on purpose (`planted`: kind -> cause keys):
- `homecare_double_booked`: caregiver K03 in two homes at once (10:00-11:10 and 10:30-11:40);
- `homecare_just_long_enough`: caregiver K04 signs out 60-62 minutes after every sign-in, all month;
- `homecare_far_away`: a K05 sign-in 3 km from the elder's registered address;
- `homecare_qr_rate`: one elder's code signed in four times in a morning, 25 minutes apart (K05);
- `homecare_no_sign_out`: a K06 visit never signed out;
- `homecare_late_uploads`: K01's visits all reach the server 30 hours after they end (sign-in and sign-out sent
  together), where that is still within the simulated days.
Every other scan reaches the server within 90 seconds, but for one K02 visit sent a day late (a phone without
signal: once is no habit).
Also a 59-minute visit (short, void), an order the provider voided, an elder in hospital all month (a recorded
made-up month, visits made up next month when the span covers it), and an elder left short of the minimum
(`short_elder`).
"""

import csv
import io
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cloud.homecare.records import DEFAULT_ITEMS, Caregiver, Category, Elder, Location, Provider, Visit

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ZONE = ZoneInfo("Asia/Shanghai")
ITEMS = tuple(i.code for i in DEFAULT_ITEMS)
HOME = {"汇龙镇": (31.810, 121.655), "南阳镇": (31.900, 121.500)}
CATEGORIES = (Category.HIGH_AGE, Category.SELF_CARE, Category.SEMI_DISABLED, Category.DISABLED)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"


@dataclass
class HomecareSim:
    first: date
    last: date
    providers: list[Provider]
    caregivers: list[Caregiver]
    elders: list[Elder]
    visits: list[Visit]
    made_up: dict[str, set[str]] = field(default_factory=dict)
    planted: dict[str, list[str]] = field(default_factory=dict)
    short_elder: str = ""
    hospital_elder: str = ""
    voided: dict[str, str] = field(default_factory=dict)  # visit -> the provider's reason


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE)


def _near(home: Location, rng: random.Random, metres: float) -> Location:
    # ~111 km per degree of latitude; the longitude's degree is shorter by cos(lat), ignored at this scale
    return Location(home.lat + rng.uniform(-metres, metres) / 111_000,
                    home.lon + rng.uniform(-metres, metres) / 95_000, accuracy_m=round(rng.uniform(5, 30), 1))


def simulate(first: date, days: int = 31, seed: int = 17) -> HomecareSim:
    """Visits from `first` for `days` days (local, Asia/Shanghai)."""
    rng = random.Random(seed)
    last = first + timedelta(days=days - 1)
    providers = [Provider("p-kangle", "康乐居家养老服务社", "汇龙镇", "0513-8300-0001"),
                 Provider("p-leling", "乐龄为老服务中心", "南阳镇", "0513-8300-0002")]
    caregivers = [Caregiver(f"K0{i}", f"{SURNAMES[i]}护理员", "p-kangle", f"1390000000{i}") for i in range(1, 7)]
    caregivers += [Caregiver(f"L0{i}", f"{SURNAMES[10 + i]}护理员", "p-leling", f"1380000000{i}") for i in (1, 2)]
    elders: list[Elder] = []

    def elder(eid: str, category: Category, provider: Provider, n: int) -> Elder:
        lat, lon = HOME[provider.town]
        home = Location(round(lat + n * 0.004, 6), round(lon + (n % 5) * 0.003, 6))
        made = Elder(eid, f"{SURNAMES[n % len(SURNAMES)]}{'大爷' if n % 2 else '奶奶'}", category, provider.town,
                     provider.id, address=f"{provider.town}{n + 1}号", package="基础套餐", home=home)
        elders.append(made)
        return made

    # Who serves whom (K03-K06 plant one pattern each on top of honest work; K04's work is all just long enough).
    roster: dict[str, list[Elder]] = {c.id: [] for c in caregivers}
    for n in range(16):
        roster[("K01", "K02", "K03", "K05", "K06")[n % 5]].append(elder(f"hl-{n + 1:03d}", CATEGORIES[n % 4],
                                                                      providers[0], n))
    roster["K04"] += [elder(f"hl-{n + 1:03d}", Category.DISABLED, providers[0], n) for n in range(16, 19)]
    for n in range(6):
        roster[("L01", "L02")[n % 2]].append(elder(f"ny-{n + 1:03d}", CATEGORIES[n % 4], providers[1], 20 + n))
    sim = HomecareSim(first, last, providers, caregivers, elders, [])
    by_id = {e.id: e for e in elders}
    busy: dict[tuple[str, date], list[tuple[datetime, datetime]]] = {}
    counter = 0

    def add(caregiver: str, elder_id: str, start: datetime, minutes: float | None, *, where: Location | None = None,
            items: tuple[str, ...] | None = None) -> Visit:
        nonlocal counter
        counter += 1
        e = by_id[elder_id]
        provider = next(c.provider for c in caregivers if c.id == caregiver)
        home = e.home
        shared = where or (_near(home, rng, 80) if home is not None and counter % 3 == 0 else None)
        end = None if minutes is None else start + timedelta(minutes=minutes)
        visit = Visit(f"sim-{counter:05d}", elder_id, caregiver, provider, start, end,
                      items or tuple(rng.sample(ITEMS, rng.randint(1, 3))), sign_in_at=shared,
                      sign_out_at=shared if end is not None else None)
        sim.visits.append(visit)
        busy.setdefault((caregiver, start.date()), []).append((start, end or start + timedelta(hours=1)))
        return visit

    def free_slot(caregiver: str, day: date, minutes: float) -> datetime | None:
        taken = busy.get((caregiver, day), [])
        for hour in range(8, 17):
            start = _at(day, hour, rng.choice((0, 10, 20, 30)))
            end = start + timedelta(minutes=minutes + 20)  # travel time between homes
            if all(end <= a or start >= b + timedelta(minutes=20) for a, b in taken):
                return start
        return None

    span = [first + timedelta(days=i) for i in range(days)]
    # Sundays: the honest caregivers are off, the planted patterns happen then (and only they show).
    quiet = [d for d in span[3:] if d.weekday() == 6] or span[-1:]
    hospital = roster["K02"][0]  # in hospital: a recorded special month, no visit
    short = roster["K01"][1]  # left one visit short of the minimum
    sim.hospital_elder, sim.short_elder = hospital.id, short.id
    months = sorted({f"{d.year:04d}-{d.month:02d}" for d in span})
    sim.made_up[hospital.id] = {months[0]}
    for caregiver, mine in roster.items():
        for e in mine:
            for month in months:
                month_days = [d for d in span if f"{d.year:04d}-{d.month:02d}" == month and d not in quiet]
                needed = {Category.HIGH_AGE: 1, Category.SELF_CARE: 1, Category.SEMI_DISABLED: 2,
                          Category.DISABLED: 4}[e.category]
                if e is hospital and month == months[0]:
                    continue
                if e is hospital and month != months[0]:
                    needed += 3  # making up the hospital month (the most its category could need)
                if e is short:
                    needed -= 1
                needed += rng.random() < 0.3  # some get one more than the minimum
                for day in sorted(rng.sample(month_days, min(needed, len(month_days)))):
                    minutes = rng.uniform(60, 62) if caregiver == "K04" else rng.uniform(65, 150)
                    start = free_slot(caregiver, day, minutes)
                    if start is not None:
                        add(caregiver, e.id, start, minutes)

    day = quiet[0]
    a, b = roster["K03"][0], roster["K03"][1]
    v1 = add("K03", a.id, _at(day, 10), 70)
    v2 = add("K03", b.id, _at(day, 10, 30), 70)
    sim.planted["homecare_double_booked"] = [f"hc-double:K03:{v1.id}:{v2.id}"]
    sim.planted["homecare_just_long_enough"] = [f"hc-just:K04:{m}" for m in months
                                                if sum(v.caregiver == "K04" and f"{v.sign_in.year:04d}-"
                                                       f"{v.sign_in.month:02d}" == m for v in sim.visits) >= 8]
    far_elder = roster["K05"][0]
    assert far_elder.home is not None
    far = add("K05", far_elder.id, _at(quiet[1 % len(quiet)], 14), 90,
              where=Location(far_elder.home.lat + 0.027, far_elder.home.lon, 10.0))  # 3 km north
    sim.planted["homecare_far_away"] = [f"hc-far:{far.id}"]
    qr_day = quiet[2 % len(quiet)]
    qr_elder = roster["K05"][1]
    for i in range(4):
        add("K05", qr_elder.id, _at(qr_day, 8, 0) + timedelta(minutes=25 * i), 20)
    sim.planted["homecare_qr_rate"] = [f"hc-qr:{qr_elder.id}:{qr_day.isoformat()}"]
    lost = add("K06", roster["K06"][0].id, _at(quiet[-1], 15), None)
    sim.planted["homecare_no_sign_out"] = [f"hc-nosignout:{lost.id}"]
    add("K06", roster["K06"][1].id, _at(quiet[-1], 9), 59)  # one minute short: void, counts nowhere
    bad = add("L01", roster["L01"][0].id, _at(quiet[0], 15), 90)
    sim.voided[bad.id] = "回访发现服务质量不合格(未按约定完成助洁)"
    sim.visits = [Visit(v.id, v.elder, v.caregiver, v.provider, v.sign_in, v.sign_out, v.items, v.sign_in_at,
                        v.sign_out_at, v.token, v.id in sim.voided, sim.voided.get(v.id, "")) for v in sim.visits]
    sim.visits.sort(key=lambda v: (v.sign_in, v.id))
    sim.visits = _uploads(sim.visits, last, random.Random(f"{seed}:uploads"))
    late = [v for v in sim.visits if v.caregiver == "K01" and v.sign_out_received is not None
            and v.sign_out is not None and v.sign_out_received - v.sign_out > timedelta(hours=24)]
    sim.planted["homecare_late_uploads"] = [
        f"hc-late:caregiver:p-kangle:K01:{m}" for m in months
        if (n := sum(_month(v.sign_in) == m for v in late)) >= 4 and n >= 0.25 * sum(
            v.caregiver == "K01" and _month(v.sign_in) == m and not v.voided and (v.minutes or 0) >= 60
            for v in sim.visits)]
    return sim


def _month(moment: datetime) -> str:
    local = moment.astimezone(ZONE)
    return f"{local.year:04d}-{local.month:02d}"


def _uploads(visits: list[Visit], last: date, rng: random.Random) -> list[Visit]:
    """When each scan reached the server: within 90 s, but K01's visits 30 h after they end (while that is still
    within the simulated days) and one K02 visit a day late. Its own generator, so the visits are as before."""
    end_of_days = _at(last + timedelta(days=1), 0)
    late_once = next((v.id for v in visits if v.caregiver == "K02" and v.sign_out is not None), None)
    out = []
    for v in visits:
        sign_in_received = v.sign_in + timedelta(seconds=rng.uniform(1, 90))
        sign_out_received = None if v.sign_out is None else v.sign_out + timedelta(seconds=rng.uniform(1, 90))
        if v.sign_out is not None and (v.id == late_once or v.caregiver == "K01"):
            sent = v.sign_out + timedelta(hours=26 if v.id == late_once else 30)
            if sent <= end_of_days:
                sign_in_received = sign_out_received = sent
        out.append(replace(v, sign_in_received=sign_in_received, sign_out_received=sign_out_received))
    return out


def elders_csv(sim: HomecareSim) -> str:
    """The elders file of `cloud derive --elders`: elder_id,name,category,town,provider."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["elder_id", "name", "category", "town", "provider"])
    writer.writerows([e.id, e.name, e.category.value, e.town, e.provider] for e in sim.elders)
    return out.getvalue()


def visits_csv(sim: HomecareSim, *, include_voided: bool = True) -> str:
    """The visits file of `cloud derive --visits`: visit_id,elder_id,caregiver_id,provider,sign_in,sign_out,items."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["visit_id", "elder_id", "caregiver_id", "provider", "sign_in", "sign_out", "items"])
    for v in sim.visits:
        if v.voided and not include_voided:
            continue
        writer.writerow([v.id, v.elder, v.caregiver, v.provider, v.sign_in.astimezone(ZONE).isoformat(),
                         "" if v.sign_out is None else v.sign_out.astimezone(ZONE).isoformat(), ";".join(v.items)])
    return out.getvalue()


def registry_csvs(sim: HomecareSim) -> dict[str, str]:
    """The bureau's import files (providers, caregivers, elders with their optional columns)."""
    files = {}
    for kind, header, rows in (
        ("providers", ["provider_id", "name", "town", "phone"], [[p.id, p.name, p.town, p.phone]
                                                                 for p in sim.providers]),
        ("caregivers", ["caregiver_id", "name", "provider", "phone"], [[c.id, c.name, c.provider, c.phone]
                                                                       for c in sim.caregivers]),
        ("elders", ["elder_id", "name", "category", "town", "provider", "address", "package", "lat", "lon"],
         [[e.id, e.name, e.category.value, e.town, e.provider, e.address, e.package,
           e.home.lat if e.home else "", e.home.lon if e.home else ""] for e in sim.elders]),
    ):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        files[kind] = out.getvalue()
    return files


def load(session: "Session", sim: HomecareSim, now: datetime, by: str = "simulator") -> None:
    """Write the simulated registry and visits through the platform's own store functions (sign-in, sign-out,
    voiding, made-up months), as the phones and the provider would have: each scan as received when the simulation
    says it reached the server (`now` where it does not say). The caller commits."""
    from cloud.homecare.store.made_up import record_made_up_month
    from cloud.homecare.store.registry import upsert_caregiver, upsert_elder, upsert_provider
    from cloud.homecare.store.visits import record_sign_in, record_sign_out, void_visit

    for provider in sim.providers:
        upsert_provider(session, provider)
    session.flush()
    for caregiver in sim.caregivers:
        upsert_caregiver(session, caregiver)
    for elder in sim.elders:
        upsert_elder(session, elder, now)
    session.flush()
    for v in sim.visits:
        row, _ = record_sign_in(session, key=v.id, elder_id=v.elder, caregiver_id=v.caregiver, at=v.sign_in,
                                by=by, now=v.sign_in_received or now, items=v.items, location=v.sign_in_at)
        if v.sign_out is not None:
            record_sign_out(session, key=v.id, at=v.sign_out, now=v.sign_out_received or now,
                            location=v.sign_out_at)
        if v.voided:
            void_visit(row, v.provider, v.void_reason, now)
    for elder_id, months in sim.made_up.items():
        for month in sorted(months):
            record_made_up_month(session, elder_id, month, "住院治疗,当月无法上门服务", by, now)
