"""Home-care figures for a month, quarter or year, in the user's scope: per elder and per provider as JSON, the same
as Excel (or CSV) in Chinese, and the CSV files an auditor feeds `eldercare cloud derive` to recompute them. The
figures are computed by the same functions as `eldercare cloud derive --elders --visits`; cells are never formulas.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi import Path as PathParam
from sqlalchemy import select

from cloud.api.assessment import Sheet
from cloud.api.deps import ConfigDep, RulesDep, RuntimeDep, SessionDep
from cloud.api.homecare_deps import Filter, Manager, Period, now
from cloud.api.sheets import MEDIA, Format, render
from cloud.homecare.figures import ElderFigures, ProviderFigures, elder_figures, period_months, provider_figures
from cloud.homecare.followup import Consequence
from cloud.homecare.records import CATEGORY_NAMES
from cloud.homecare.store.categories import category_histories
from cloud.homecare.store.registry import list_elders
from cloud.homecare.store.visits import visits_query
from cloud.store.homecare import HomecareVisit

router = APIRouter(prefix="/homecare", tags=["homecare"])

CATEGORY_CN = {c.value: n for c, n in CATEGORY_NAMES.items()}
CONSEQUENCE_CN = {Consequence.OK: "达标", Consequence.RECTIFY: "限期整改", Consequence.MAY_TERMINATE: "可解除合同",
                  Consequence.NO_DATA: "无数据"}


@router.get("/figures/elders/{period}", response_model=ElderFigures)
def elder_month_figures(period: Period, user: Manager, session: SessionDep, config: ConfigDep, rules: RulesDep,
                        runtime: RuntimeDep, provider: Filter = None, town: Filter = None) -> ElderFigures:
    """Per elder per month: counted visits, minutes, required (with made-up months), met; and the year's items."""
    return elder_figures(session, user, period_months(period), rules.homecare, now(config),
                         runtime.settings.timezone, provider=provider, town=town)


@router.get("/figures/providers/{period}", response_model=list[ProviderFigures])
def provider_period_figures(period: Period, user: Manager, session: SessionDep, config: ConfigDep,
                            rules: RulesDep, runtime: RuntimeDep) -> list[ProviderFigures]:
    """Per provider for a month, quarter or year: orders, counted, voided, elders meeting their minimum, follow-up
    share, satisfaction and valid complaints with their consequences, and for a year the renewal outlook."""
    return provider_figures(session, user, period, rules.homecare, now(config), runtime.settings.timezone)


def _file(content: bytes, fmt: Format, name: str) -> Response:
    from urllib.parse import quote

    ascii_name = name.encode("ascii", "ignore").decode() or "export"
    disposition = f"attachment; filename=\"{ascii_name}.{fmt}\"; filename*=UTF-8''{quote(name)}.{fmt}"
    return Response(content, media_type=MEDIA[fmt], headers={"Content-Disposition": disposition})


FormatQuery = Annotated[Literal["xlsx", "csv"], Query(description="xlsx or csv")]
FILES: dict[int | str, dict[str, Any]] = {200: {"content": {MEDIA["xlsx"]: {}, MEDIA["csv"]: {}}}, 403: {}}


@router.get("/exports/elders/{period}", response_class=Response, responses=FILES)
def export_elders(period: Period, user: Manager, session: SessionDep, config: ConfigDep, rules: RulesDep,
                  runtime: RuntimeDep, format: FormatQuery = "xlsx") -> Response:
    figures = elder_figures(session, user, period_months(period), rules.homecare, now(config),
                            runtime.settings.timezone)
    names = {e.id: (e.name, e.town, e.provider_id) for e in list_elders(session, user)}
    rows = [(m.elder, names.get(m.elder, ("", "", ""))[0], names.get(m.elder, ("", "", ""))[1],
             names.get(m.elder, ("", "", ""))[2], m.month, CATEGORY_CN[m.category.value], m.visits, m.minutes,
             m.required, "是" if m.met else "进行中" if m.month in figures.running else "否") for m in figures.months]
    sheet = Sheet(title=f"居家上门服务 老人月度服务情况 {period}",
                  facts=[("统计口径", f"每次服务不少于{rules.homecare.min_visit_minutes:g}分钟计入;作废单不计"),
                         ("导出人", user.name)],
                  header=("老人编号", "姓名", "镇(街道)", "服务商", "月份", "类别", "有效服务次数", "服务分钟",
                          "应服务次数", "是否达标"), rows=rows)
    return _file(render(sheet, format), format, f"居家上门服务-老人-{period}")


def _renewal(years: int | None, *, year: bool) -> str:
    """The year's renewal outlook in words (blank for a month or a quarter). A year without any follow-up answered
    has no outlook: that is not 不予续签."""
    if not year:
        return ""
    if years is None:
        return "无回访应答，无法判断"
    return f"可续签{years}年" if years else "不予续签"


@router.get("/exports/providers/{period}", response_class=Response, responses=FILES)
def export_providers(period: Period, user: Manager, session: SessionDep, config: ConfigDep, rules: RulesDep,
                     runtime: RuntimeDep, format: FormatQuery = "xlsx") -> Response:
    figures = provider_figures(session, user, period, rules.homecare, now(config), runtime.settings.timezone)

    def pct(value: float | None) -> str:
        return "" if value is None else f"{value * 100:.1f}%"

    rows = [(f.provider, f.name, f.town, f.period, f.orders, f.counted, f.voided, f.elder_months,
             f.elder_months_met, pct(f.service.followup_share), f.service.answers, pct(f.service.satisfaction),
             CONSEQUENCE_CN[f.service.satisfaction_consequence], f.service.valid_complaints,
             pct(f.service.complaint_rate), CONSEQUENCE_CN[f.service.complaint_consequence],
             _renewal(f.service.renewal_years, year=period.isdigit()))
            for f in figures]
    sheet = Sheet(title=f"居家上门服务 服务商考核 {period}",
                  facts=[("满意度口径", "平台回访中满意与基本满意所占比例" if rules.homecare.basic_counts_as_satisfied
                          else "平台回访中满意所占比例"), ("导出人", user.name)],
                  header=("服务商编号", "服务商", "镇(街道)", "期间", "工单数", "有效工单", "作废单", "老人·月",
                          "达标老人·月", "平台回访率", "回访应答数", "满意率", "满意度结论", "有效投诉",
                          "有效投诉率", "投诉结论", "续签展望"), rows=rows)
    return _file(render(sheet, format), format, f"居家上门服务-服务商-{period}")


AuditFile = Literal["elders.csv", "visits.csv", "voided.csv", "made-up.csv", "categories.csv"]


@router.get("/audit/{period}/{name}", response_class=Response,
            responses={200: {"content": {MEDIA["csv"]: {}}}, 403: {}})
def audit_file(period: Period, name: Annotated[AuditFile, PathParam()], user: Manager, session: SessionDep,
               runtime: RuntimeDep) -> Response:
    """The files `eldercare cloud derive --elders --visits --voided --made-up --categories` reads, for the elders
    in your scope and the period (with the month before it, whose made-up shortfall the first month may carry; the
    categories' whole history): an auditor recomputes the figures from them with no server. Cells are never
    formulas."""
    import csv
    import io

    from cloud.api.sheets import safe_row
    from cloud.homecare.months import month_bounds, previous_month
    from cloud.store.homecare import MadeUpMonthRow

    months = period_months(period)
    zone = runtime.settings.timezone
    elders = list_elders(session, user)
    ids = [e.id for e in elders]
    start, _ = month_bounds(previous_month(months[0]), zone)
    _, end = month_bounds(months[-1], zone)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if name == "elders.csv":
        writer.writerow(["elder_id", "name", "category", "town", "provider", "timezone", "since", "until"])
        writer.writerows(safe_row([e.id, e.name, e.category, e.town, e.provider_id, e.timezone,
                                   e.since.isoformat() if e.since else "", e.until.isoformat() if e.until else ""])
                         for e in elders)
    elif name == "categories.csv":
        writer.writerow(["elder_id", "from", "category"])
        histories = category_histories(session, ids)
        writer.writerows([e.id, v.effective_from.isoformat(), v.category.value]
                         for e in elders for v in histories.get(e.id, ()))
    elif name == "made-up.csv":
        writer.writerow(["elder_id", "month", "reason"])
        rows: list[MadeUpMonthRow] = list(session.scalars(
            select(MadeUpMonthRow).where(MadeUpMonthRow.elder_id.in_(ids))
            .order_by(MadeUpMonthRow.elder_id, MadeUpMonthRow.month))) if ids else []
        writer.writerows(safe_row([m.elder_id, m.month, m.reason]) for m in rows)
    else:
        visits: list[HomecareVisit] = list(session.scalars(
            visits_query(user, start=start, end=end).where(HomecareVisit.elder_id.in_(ids)))) if ids else []
        if name == "visits.csv":
            writer.writerow(["visit_id", "elder_id", "caregiver_id", "provider", "sign_in", "sign_out", "items"])
            writer.writerows(safe_row([v.key, v.elder_id, v.caregiver_id, v.provider_id, v.sign_in_at.isoformat(),
                                       v.sign_out_at.isoformat() if v.sign_out_at else "", ";".join(v.items)])
                             for v in visits)
        else:
            writer.writerow(["visit_id", "reason"])
            writer.writerows(safe_row([v.key, v.void_reason or ""]) for v in visits if v.voided)
    return Response(out.getvalue().encode("utf-8"), media_type=MEDIA["csv"],
                    headers={"Content-Disposition": f'attachment; filename="{period}-{name}"'})
