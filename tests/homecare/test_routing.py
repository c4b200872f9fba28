"""Where each fraud signal goes (cloud.homecare.routing), pure: by its elders' towns, never the provider's. One town:
that town, under the signal's key; a caregiver's signal over two towns: each town its own part, under `{key}@{town}`;
a provider's habit over two towns: the bureau."""

from datetime import datetime, timedelta, timezone
from typing import Any

from cloud.homecare import fraud, routing
from cloud.homecare.config import HomecareConfig
from cloud.homecare.records import Category, Elder, Location, Visit

CST = timezone(timedelta(hours=8))
CONFIG = HomecareConfig()
HL, NY = "汇龙镇", "南阳镇"
TOWN_OF = {"e-hl-1": HL, "e-hl-2": HL, "e-ny-1": NY, "e-ny-2": NY}
ELDERS = {e: Elder(e, e, Category.DISABLED, t, "p-hl", home=Location(31.8, 121.6)) for e, t in TOWN_OF.items()}
NOW = datetime(2026, 11, 3, 9, tzinfo=CST)


def _v(vid: str, elder: str, start: datetime, minutes: float | None, caregiver: str = "HL001",
       late: timedelta | None = None, where: Location | None = None) -> Visit:
    end = None if minutes is None else start + timedelta(minutes=minutes)
    sent = None if end is None else end + (late or timedelta(minutes=1))
    return Visit(vid, elder, caregiver, "p-hl", start, end, ("meal",), sign_in_at=where, sign_out_at=where,
                 sign_in_received=sent if late else start + timedelta(minutes=1), sign_out_received=sent)


def _oct(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=CST)


def _strings(value: Any) -> set[str]:
    """Every string anywhere in an evidence (ids, keys, names)."""
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return {value} if isinstance(value, str) else set()


def _one(signals: list[fraud.Signal]) -> fraud.Signal:
    [signal] = signals
    return signal


def test_a_signal_of_one_towns_elders_goes_to_that_town_under_its_own_key() -> None:
    far = _one(fraud.far_away([_v("a", "e-ny-1", _oct(5), 75, where=Location(31.9, 121.6))], ELDERS, CONFIG))
    assert routing.route(far, TOWN_OF, CONFIG) == [routing.Route(NY, "hc-far:a", far.evidence)]
    double = _one(fraud.double_booked([_v("a", "e-hl-1", _oct(5), 75), _v("b", "e-hl-2", _oct(5), 75)], CONFIG))
    assert routing.route(double, TOWN_OF, CONFIG) == [routing.Route(HL, "hc-double:HL001:a:b", double.evidence)]
    nosignout = _one(fraud.no_sign_out([_v("c", "e-ny-2", _oct(5), None)], CONFIG, NOW))
    assert [(r.town, r.cause_key) for r in routing.route(nosignout, TOWN_OF, CONFIG)] == [(NY, "hc-nosignout:c")]
    qr = _one(fraud.qr_rate([_v(f"q{i}", "e-ny-1", _oct(5, 8 + 2 * i), 75) for i in range(3)], ELDERS, CONFIG))
    assert [(r.town, r.cause_key) for r in routing.route(qr, TOWN_OF, CONFIG)] == [(NY, "hc-qr:e-ny-1:2026-10-05")]


def test_two_homes_at_once_in_two_towns_is_one_alert_per_town_with_its_own_visit() -> None:
    double = _one(fraud.double_booked([_v("a", "e-hl-1", _oct(5), 75), _v("b", "e-ny-1", _oct(5, 10), 75)], CONFIG))
    routes = routing.route(double, TOWN_OF, CONFIG)
    assert [(r.town, r.cause_key) for r in routes] == [(NY, f"hc-double:HL001:a:b@{NY}"),
                                                       (HL, f"hc-double:HL001:a:b@{HL}")]
    ny, hl = routes
    assert [v["visit"] for v in ny.evidence["visits"]] == ["b"] and ny.evidence["overlap_minutes"] == 15.0
    assert [v["visit"] for v in hl.evidence["visits"]] == ["a"] and hl.evidence["other_towns"] is True
    assert not {"a", "e-hl-1"} & _strings(ny.evidence) and not {"b", "e-ny-1"} & _strings(hl.evidence)


def test_a_caregivers_month_just_long_enough_over_two_towns_counts_each_towns_visits_only() -> None:
    # Ten visits of 61 minutes, six in 汇龙镇 and four in 南阳镇, and two of 90 minutes in 南阳镇.
    visits = [_v(f"j{d:02d}", "e-hl-1" if d <= 6 else "e-ny-1", _oct(d), 61) for d in range(1, 11)]
    visits += [_v("long-1", "e-ny-2", _oct(20), 90), _v("long-2", "e-ny-2", _oct(21), 90)]
    just = _one(fraud.just_long_enough(visits, ELDERS, CONFIG))
    assert (just.evidence["counted"], just.evidence["just_long_enough"]) == (12, 10)
    by_town = {r.town: r for r in routing.route(just, TOWN_OF, CONFIG)}
    assert set(by_town) == {HL, NY} and by_town[HL].cause_key == f"hc-just:HL001:2026-10@{HL}"
    hl, ny = by_town[HL].evidence, by_town[NY].evidence
    assert (hl["counted"], hl["just_long_enough"], hl["visits"]) == (6, 6, [f"j{d:02d}" for d in range(1, 7)])
    assert (ny["counted"], ny["just_long_enough"], ny["visits"]) == (6, 4, ["j07", "j08", "j09", "j10"])
    assert ny["minutes"] == [61.0] * 4 and ny["month"] == "2026-10" and ny["caregiver"] == "HL001"


def test_a_town_whose_visits_of_the_caregiver_were_all_fine_gets_no_part() -> None:
    visits = [_v(f"j{d:02d}", "e-hl-1", _oct(d), 61) for d in range(1, 11)] + [_v("long", "e-ny-1", _oct(20), 90)]
    just = _one(fraud.just_long_enough(visits, ELDERS, CONFIG))
    assert [(r.town, r.cause_key) for r in routing.route(just, TOWN_OF, CONFIG)] == [
        (HL, f"hc-just:HL001:2026-10@{HL}")]
    [route] = routing.route(just, TOWN_OF, CONFIG)
    assert route.evidence["counted"] == 10 and "long" not in _strings(route.evidence)


def test_a_caregivers_late_uploads_over_two_towns_split_and_a_providers_go_to_the_bureau() -> None:
    late = timedelta(hours=30)
    caregiver = [_v(f"l{d}", "e-hl-1" if d % 2 else "e-ny-1", _oct(d), 75, late=late) for d in range(1, 7)]
    signal = _one(fraud.late_uploads(caregiver, ELDERS, CONFIG))
    routes = {r.town: r for r in routing.route(signal, TOWN_OF, CONFIG)}
    assert {t: (r.cause_key, r.evidence["counted"], r.evidence["late"]) for t, r in routes.items()} == {
        HL: (f"hc-late:caregiver:p-hl:HL001:2026-10@{HL}", 3, 3),
        NY: (f"hc-late:caregiver:p-hl:HL001:2026-10@{NY}", 3, 3)}
    assert [v["elder"] for v in routes[NY].evidence["visits"]] == ["e-ny-1"] * 3
    # Two caregivers, two late visits each (no habit alone), in both towns: the provider's habit, no town's part.
    spread = [_v(f"{c}{d}", "e-hl-2" if d % 2 else "e-ny-2", _oct(d, 14), 75, caregiver=c,
                 late=late if d <= 2 else None) for c in ("HL004", "HL005") for d in range(1, 5)]
    provider = _one(fraud.late_uploads(spread, ELDERS, CONFIG))
    assert provider.evidence["scope"] == "provider"
    assert routing.route(provider, TOWN_OF, CONFIG) == [
        routing.Route(None, "hc-late:provider:p-hl:2026-10", provider.evidence)]
    # The same habit in one town is that town's.
    one_town = {**TOWN_OF, "e-ny-2": HL}
    assert [(r.town, r.cause_key) for r in routing.route(provider, one_town, CONFIG)] == [
        (HL, "hc-late:provider:p-hl:2026-10")]


def test_an_elder_of_no_known_town_sends_the_signal_to_the_bureau() -> None:
    double = _one(fraud.double_booked([_v("a", "e-hl-1", _oct(5), 75), _v("b", "e-x", _oct(5, 10), 75)], CONFIG))
    assert [(r.town, r.cause_key) for r in routing.route(double, TOWN_OF, CONFIG)] == [
        (None, "hc-double:HL001:a:b")]


def test_a_towns_key_fits_the_alerts_table() -> None:
    assert routing.town_key("hc-far:a", HL) == f"hc-far:a@{HL}"
    long = routing.town_key("k" * 150, "镇" * 100)
    assert len(long) <= routing.MAX_KEY and long.startswith("k" * 150 + "@#")
    assert long == routing.town_key("k" * 150, "镇" * 100)  # stable


def test_the_open_alerts_a_new_route_leaves_behind() -> None:
    split = [routing.Route(HL, f"k@{HL}", {}), routing.Route(NY, f"k@{NY}", {})]
    bureau = [routing.Route(None, "p", {})]
    routed = {"k": split, "p": bureau, "s": [routing.Route(HL, "s", {})]}
    open_keys = ["k", f"k@{HL}", "p", f"p@{HL}", "s", "other", "k2", f"k2@{HL}"]
    assert routing.left_behind(routed, open_keys) == {"k": split, f"p@{HL}": bureau}
    assert routing.base_key("a@b@c", {"a@b"}) == "a@b" and routing.base_key("x@y", {"a"}) is None
