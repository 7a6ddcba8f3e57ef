"""What every report says: plain functions that read the other apps and yield figures and rows.

Nothing here formats a file (that is `reports.writers`) and nothing here writes. All
reads go through the other apps' selectors (and the org tree's shared querysets):
credits through `credits.selectors` (precomputed totals, standards, ledgers), classes
through `sessions.selectors`, satisfaction and exams through `evaluations.selectors`,
always as the person who asked for the report, so a report can never show more than its
requester may see.

The per-person figures of a period come from ONE aggregation of credits' precomputed
quarter totals (`quarter_source_sums`: at most four rows per person, never the ledger),
streamed from the database (server-side cursor on PostgreSQL) and merged with the people
of the subtree, streamed in the same order, so memory stays flat however large the
organisation is. The manager dashboard and the quarterly report both call
`period_figures` + `summary_items`, so they always show the same numbers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Avg, Count, Exists, Max, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from credits import selectors as credit_selectors
from credits.models import CreditEntry, SourceKind
from evaluations import selectors as evaluation_selectors
from org import selectors as org_selectors
from org.models import OrgUnit, User
from sessions import selectors as session_selectors

ZERO = Decimal("0")
CENT = Decimal("0.01")
CHUNK = 5000
SOURCES: list[str] = list(SourceKind.values)


def portal_tz() -> ZoneInfo:
    """The portal's zone (settings.TIME_ZONE, Asia/Shanghai): periods and local times of
    every report, whatever zone a request happens to activate."""
    return ZoneInfo(settings.TIME_ZONE)


def q2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def percent(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """`part / whole` as a percentage with one decimal, None when there is no whole."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- Periods a report covers ---------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The period a report covers: a quarter (Q1–Q4) or a half year (H1, H2).

    `start`/`end` are aware local midnights (end exclusive). Pro-rata targets are judged
    at `as_of`: the last day of the period, or today while the period is still running.
    """

    kind: str  # "Q" or "H"
    year: int
    index: int

    @property
    def key(self) -> str:
        return f"{self.year}-{self.kind}{self.index}"

    @property
    def first_month(self) -> int:
        return 3 * self.index - 2 if self.kind == "Q" else 6 * self.index - 5

    @property
    def month_count(self) -> int:
        return 3 if self.kind == "Q" else 6

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.first_month, 1)

    @property
    def next_first_day(self) -> dt.date:
        month0 = self.first_month - 1 + self.month_count
        return dt.date(self.year + month0 // 12, month0 % 12 + 1, 1)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first_day, dt.time.min, tzinfo=portal_tz())

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.next_first_day, dt.time.min, tzinfo=portal_tz())

    @property
    def year_start(self) -> dt.datetime:
        return dt.datetime.combine(dt.date(self.year, 1, 1), dt.time.min, tzinfo=portal_tz())

    def months(self) -> list[dt.date]:
        return [dt.date(self.year, self.first_month + i, 1) for i in range(self.month_count)]

    def as_of(self, today: dt.date | None = None) -> dt.date:
        today = today or timezone.localtime(timezone.now(), portal_tz()).date()
        return min(self.next_first_day - dt.timedelta(days=1), today)

    @property
    def has_started(self) -> bool:
        return self.start <= timezone.now()

    @property
    def has_ended(self) -> bool:
        return self.end <= timezone.now()

    def label(self) -> str:
        if self.kind == "Q":
            # Translators: a quarter, e.g. “2025年第3季度”
            return _("%(year)s Q%(index)s") % {"year": self.year, "index": self.index}
        if self.index == 1:
            # Translators: 上半年
            return _("first half of %(year)s") % {"year": self.year}
        # Translators: 下半年
        return _("second half of %(year)s") % {"year": self.year}


def quarter_window(year: int, quarter: int) -> Window:
    return Window("Q", year, quarter)


def half_window(year: int, half: int) -> Window:
    return Window("H", year, half)


def last_ended_quarter(now: dt.datetime | None = None) -> Window:
    """The most recent quarter that has ended (for scheduled delivery)."""
    local = timezone.localtime(now or timezone.now(), portal_tz())
    quarter = (local.month - 1) // 3 + 1
    if quarter == 1:
        return quarter_window(local.year - 1, 4)
    return quarter_window(local.year, quarter - 1)


def source_label(kind: str) -> str:
    return str(dict(SourceKind.choices).get(kind, kind))


# --- One person's figures in a period ---------------------------------------------------------------


@dataclass(slots=True)
class PersonFigures:
    """A person's credits in the window (by source, uncapped, as credits shows periods)
    and in the year up to the window's end (annual caps applied), against the pro-rata
    requirement of their cadre level at `Window.as_of`."""

    person_id: int
    name: str
    employee_no: str
    unit_id: int | None
    cadre_level_id: int | None
    by_source: dict[str, Decimal]
    period_total: Decimal
    year_total: Decimal
    requirement: Decimal | None
    target: Decimal | None

    @property
    def on_track(self) -> bool | None:
        return None if self.target is None else self.year_total >= self.target

    @property
    def is_behind(self) -> bool:
        return self.target is not None and self.year_total < self.target

    @property
    def shortfall(self) -> Decimal:
        return max(ZERO, (self.target or ZERO) - self.year_total)


def _person_sums(viewer: User, unit: OrgUnit, window: Window):
    """Per person of the subtree with credits this year: window sums and year-to-date sums
    per source (one query over credits' precomputed quarter totals, not the ledger).

    Ordered like the people stream (unit path, person id) so the two merge in one pass.
    """
    first = (window.first_month - 1) // 3 + 1  # the window's quarters: first … last
    last = first + window.month_count // 3 - 1
    quarters = tuple(range(first, last + 1))
    return credit_selectors.quarter_source_sums(viewer, unit=unit, year=window.year, quarters=quarters, through=last)


@contextlib.contextmanager
def whole_result_plans() -> Iterator[None]:
    """Plan the report's server-side cursors for reading every row (PostgreSQL).

    A cursor is planned by default for its first 10 % of rows (`cursor_tuple_fraction`),
    which over a ledger of millions picks index nested loops per person instead of one
    scan and a hash join: measured 4–5 times slower. Reports read all they ask for.
    JIT is switched off for the same reads (see below).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET cursor_tuple_fraction = 1.0")
        # JIT compiling pays off for queries that run minutes; a report's reads run
        # seconds, and compiling them cost ~2.5 s each (measured on the course usage).
        cursor.execute("SET jit = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET cursor_tuple_fraction")
            cursor.execute("RESET jit")


def people_of(unit: OrgUnit):
    """Active people of the unit's subtree (who a unit report is about), in tree order."""
    return User.objects.in_units((unit.path,)).filter(is_active=True)


def person_figures(viewer: User, unit: OrgUnit, window: Window) -> Iterator[PersonFigures]:
    """Every active person of `unit`'s subtree with their figures, streamed in tree order."""
    as_of = window.as_of()
    standards: dict[int | None, credit_selectors.LevelStandard] = {}

    people = (
        people_of(unit)
        .order_by("unit__path", "pk")
        .values_list("unit__path", "pk", "name", "employee_no", "unit_id", "cadre_level_id")
        .iterator(chunk_size=CHUNK)
    )
    sums = iter(_person_sums(viewer, unit, window).iterator(chunk_size=CHUNK))
    pending = next(sums, None)
    previous = ("", 0)
    for path, pid, name, employee_no, unit_id, level_id in people:
        key = (path, pid)
        if key < previous:
            # The merge needs the database to sort paths as Python does (true for the C /
            # C.UTF-8 collations and any collation on [0-9A-Z] paths); refuse rather than
            # silently drop people if it does not.
            raise RuntimeError("people are not in materialised-path order; check the database collation")
        previous = key
        while pending is not None and (pending[0], pending[1]) < key:
            pending = next(sums, None)
        standard = standards.get(level_id)
        if standard is None:
            standard = standards[level_id] = credit_selectors.level_standard(window.year, level_id, as_of=as_of)
        by_source: dict[str, Decimal] = {}
        period_total = year_total = ZERO
        if pending is not None and (pending[0], pending[1]) == key:
            values = pending[2:]
            in_year: dict[str, Decimal] = {}
            for i, kind in enumerate(SOURCES):
                in_period = values[i * 2]
                if in_period:
                    by_source[kind] = Decimal(in_period)
                    period_total += Decimal(in_period)
                if values[i * 2 + 1]:
                    in_year[kind] = Decimal(values[i * 2 + 1])
            year_total = standard.counted(in_year)
        requirement, target = standard.requirement, standard.target
        yield PersonFigures(
            person_id=pid,
            name=name,
            employee_no=employee_no,
            unit_id=unit_id,
            cadre_level_id=level_id,
            by_source=by_source,
            period_total=q2(period_total),
            year_total=q2(year_total),
            requirement=requirement,
            target=target,
        )


# --- A unit's figures in a period (the quarterly report, the briefing, the dashboard) -------------


@dataclass
class UnitLine:
    unit_id: int
    name: str
    full_name: str
    path: str
    members: int = 0
    participants: int = 0
    points: Decimal = ZERO
    year_points: Decimal = ZERO
    with_requirement: int = 0
    on_track: int = 0

    @property
    def avg_points(self) -> Decimal:
        return q2(self.points / self.members) if self.members else ZERO

    @property
    def avg_year_points(self) -> Decimal:
        return q2(self.year_points / self.members) if self.members else ZERO

    @property
    def participation(self) -> Decimal | None:
        return percent(self.participants, self.members)

    @property
    def behind(self) -> int:
        return self.with_requirement - self.on_track

    @property
    def compliance(self) -> Decimal | None:
        return percent(self.on_track, self.with_requirement)


@dataclass
class MonthClasses:
    month: dt.date
    held: int
    target: int | None


@dataclass
class PeriodFigures:
    """Everything the summary of a unit report says about one period."""

    unit: OrgUnit
    unit_full_name: str
    window: Window
    as_of: dt.date
    people: int = 0
    participants: int = 0
    points: Decimal = ZERO
    with_requirement: int = 0
    on_track: int = 0
    by_source: dict[str, Decimal] = field(default_factory=dict)
    people_by_source: dict[str, int] = field(default_factory=dict)
    units: list[UnitLine] = field(default_factory=list)
    # (-points in cents, person id): sorted, it is the individual ranking.
    ranking: list[tuple[int, int]] = field(default_factory=list)
    months: list[MonthClasses] = field(default_factory=list)
    satisfied_answers: int = 0
    overall_answers: int = 0
    classes_rated: int = 0

    @property
    def participation(self) -> Decimal | None:
        return percent(self.participants, self.people)

    @property
    def avg_points(self) -> Decimal:
        return q2(self.points / self.people) if self.people else ZERO

    @property
    def on_track_share(self) -> Decimal | None:
        return percent(self.on_track, self.with_requirement)

    @property
    def behind(self) -> int:
        return self.with_requirement - self.on_track

    @property
    def classes_held(self) -> int:
        return sum(m.held for m in self.months)

    @property
    def classes_target(self) -> int | None:
        targets = [m.target for m in self.months if m.target is not None]
        return sum(targets) if targets else None

    @property
    def satisfaction(self) -> Decimal | None:
        return percent(self.satisfied_answers, self.overall_answers)

    @property
    def units_behind(self) -> list[UnitLine]:
        rows = [u for u in self.units if u.behind > 0]
        return sorted(rows, key=lambda u: (u.compliance or ZERO, u.path))


def subtree_units(unit: OrgUnit) -> list[UnitLine]:
    units = list(OrgUnit.objects.within((unit.path,)).order_by("path").values_list("pk", "name", "path"))
    full = org_selectors.unit_full_names(OrgUnit.objects.within((unit.path,)))
    return [UnitLine(unit_id=pk, name=name, full_name=full.get(pk, name), path=path) for pk, name, path in units]


def period_figures(
    viewer: User,
    unit: OrgUnit,
    window: Window,
    *,
    sink: Callable[[PersonFigures], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PeriodFigures:
    """One pass over the subtree's people: the summary, the units, the sources, the ranking.

    `sink` sees every person as they stream past (the writers use it to write the
    people-behind sheet without holding it in memory); `progress(done, total)` is called
    every few thousand people.
    """
    lines = subtree_units(unit)
    by_id = {line.unit_id: line for line in lines}
    figures = PeriodFigures(
        unit=unit,
        unit_full_name=by_id[unit.pk].full_name if unit.pk in by_id else unit.name,
        window=window,
        as_of=window.as_of(),
    )
    total = people_of(unit).count() if progress else 0
    by_source: dict[str, Decimal] = defaultdict(lambda: ZERO)
    people_by_source: dict[str, int] = defaultdict(int)
    ranking = figures.ranking
    for done, pf in enumerate(person_figures(viewer, unit, window), start=1):
        line = by_id.get(pf.unit_id)
        figures.people += 1
        figures.points += pf.period_total
        participated = pf.period_total > 0
        figures.participants += participated
        if pf.target is not None:
            figures.with_requirement += 1
            figures.on_track += bool(pf.on_track)
        for kind, points in pf.by_source.items():
            by_source[kind] += points
            people_by_source[kind] += 1
        if line is not None:
            line.members += 1
            line.participants += participated
            line.points += pf.period_total
            line.year_points += pf.year_total
            if pf.target is not None:
                line.with_requirement += 1
                line.on_track += bool(pf.on_track)
        ranking.append((-int(pf.period_total * 100), pf.person_id))
        if sink is not None:
            sink(pf)
        if progress is not None and done % CHUNK == 0:
            progress(done, total)
    ranking.sort()
    figures.by_source = {k: q2(by_source[k]) for k in SOURCES if k in by_source}
    figures.people_by_source = dict(people_by_source)
    figures.units = [line for line in lines if line.members]
    figures.months = classes_by_month(viewer, unit, window)
    _add_satisfaction(viewer, unit, window, figures)
    return figures


def competition_ranks(values: list) -> Iterator[int]:
    """1, 2, 2, 4 … for values already sorted best first (ties share a rank)."""
    rank = 0
    previous = object()
    for position, value in enumerate(values, start=1):
        if value != previous:
            rank = position
            previous = value
        yield rank


def ranked_units(figures: PeriodFigures) -> list[tuple[int, UnitLine]]:
    """Units with members by average credits per member (ties share a rank)."""
    units = sorted(figures.units, key=lambda u: (-u.avg_points, u.path))
    return list(zip(competition_ranks([u.avg_points for u in units]), units, strict=True))


# --- Summary: the same numbers on the dashboard and in the report ------------------------------------


@dataclass(frozen=True)
class SummaryItem:
    key: str
    label: str
    value: Decimal | int | str | None
    unit: str = ""


def summary_items(figures: PeriodFigures) -> list[SummaryItem]:
    """The headline figures of a unit report, in order. Shared by the dashboard and the
    report's summary sheet/page, so both always say the same thing."""
    label = credit_selectors.unit_label()
    return [
        SummaryItem("unit", _("Unit"), figures.unit_full_name),
        SummaryItem("period", _("Period"), figures.window.label()),
        SummaryItem("as_of", _("Targets judged on"), figures.as_of.isoformat()),
        SummaryItem("people", _("People"), figures.people),
        SummaryItem("participants", _("People with credits in the period"), figures.participants),
        SummaryItem("participation", _("Participation rate"), figures.participation, "%"),
        SummaryItem("points", _("Credits earned in the period"), q2(figures.points), label),
        SummaryItem("avg_points", _("Average credits per person"), figures.avg_points, label),
        SummaryItem("with_requirement", _("People with an annual requirement"), figures.with_requirement),
        SummaryItem("on_track", _("On track for the annual requirement"), figures.on_track),
        SummaryItem("on_track_share", _("Share on track"), figures.on_track_share, "%"),
        SummaryItem("behind", _("Behind the pro-rata target"), figures.behind),
        # Translators: 微课堂 held (下午微课堂)
        SummaryItem("classes_held", _("Micro-classes held"), figures.classes_held),
        SummaryItem("classes_target", _("Micro-classes planned (monthly target)"), figures.classes_target),
        SummaryItem("satisfaction", _("Satisfaction (satisfied or very satisfied)"), figures.satisfaction, "%"),
    ]


def summary_values(figures: PeriodFigures) -> dict[str, object]:
    """`{key: value}` of `summary_items`, JSON-friendly (decimals as floats)."""
    out: dict[str, object] = {}
    for item in summary_items(figures):
        value = item.value
        out[item.key] = float(value) if isinstance(value, Decimal) else value
    return out


def dashboard_data(figures: PeriodFigures, *, top_units: int = 15) -> dict:
    """The numbers the manager dashboard draws (ECharts), from the same figures as the report."""
    units = ranked_units(figures)[:top_units]
    return {
        "summary": summary_values(figures),
        "labels": {item.key: item.label for item in summary_items(figures)},
        "sources": [
            {"kind": k, "name": source_label(k), "points": float(v)} for k, v in figures.by_source.items()
        ],
        "units": [
            {"name": u.name, "avg_points": float(u.avg_points), "participation": float(u.participation or 0),
             "compliance": float(u.compliance) if u.compliance is not None else None}
            for _rank, u in units
        ],
        "months": [
            {"month": m.month.strftime("%Y-%m"), "held": m.held, "target": m.target} for m in figures.months
        ],
        "on_track": {"on_track": figures.on_track, "behind": figures.behind},
    }


# --- The semi-annual briefing (情况通报) ------------------------------------------------------------


def briefing_items(figures: PeriodFigures) -> list[SummaryItem]:
    units_with_members = len(figures.units)
    units_behind = len(figures.units_behind)
    return [
        SummaryItem("unit", _("Unit"), figures.unit_full_name),
        SummaryItem("period", _("Period"), figures.window.label()),
        SummaryItem("as_of", _("Targets judged on"), figures.as_of.isoformat()),
        SummaryItem("people", _("People"), figures.people),
        SummaryItem("with_requirement", _("People with an annual requirement"), figures.with_requirement),
        SummaryItem("on_track", _("On track for the annual requirement"), figures.on_track),
        SummaryItem("behind", _("Behind the pro-rata target"), figures.behind),
        SummaryItem("on_track_share", _("Share on track"), figures.on_track_share, "%"),
        SummaryItem("units", _("Units with members"), units_with_members),
        SummaryItem("units_behind", _("Units with people behind target"), units_behind),
    ]


def briefing_unit_header() -> list[str]:
    return [
        _("Unit"), _("People"), _("With a requirement"), _("On track"), _("Behind"),
        _("Share on track (%)"), _("Average credits this year"),
    ]


def briefing_unit_rows(figures: PeriodFigures) -> Iterator[list]:
    """Units with anyone behind the pro-rata target, least compliant first."""
    for u in figures.units_behind:
        yield [u.full_name, u.members, u.with_requirement, u.on_track, u.behind, u.compliance, u.avg_year_points]


# --- Sheets of the quarterly report ------------------------------------------------------------------


def unit_header() -> list[str]:
    return [
        _("Rank"), _("Unit"), _("People"), _("People with credits"), _("Participation rate (%)"),
        _("Credits in the period"), _("Average per person"), _("On track"), _("Behind"), _("Share on track (%)"),
    ]


def unit_rows(figures: PeriodFigures) -> Iterator[list]:
    for rank, u in ranked_units(figures):
        yield [rank, u.full_name, u.members, u.participants, u.participation, q2(u.points), u.avg_points,
               u.on_track, u.behind, u.compliance]


def source_header() -> list[str]:
    return [_("Source"), _("Credits"), _("People"), _("Share of credits (%)")]


def source_rows(figures: PeriodFigures) -> Iterator[list]:
    total = sum(figures.by_source.values(), ZERO)
    for kind, points in figures.by_source.items():
        yield [source_label(kind), points, figures.people_by_source.get(kind, 0), percent(points, total)]


@dataclass(frozen=True)
class RankingVisibility:
    """How the organisation lets individuals be ranked (credits' ranking policy)."""

    mode: str
    top_n: int
    mask: bool

    @property
    def shows_list(self) -> bool:
        return self.mode in ("full", "top_n")

    def note(self) -> str:
        if self.mode == "off":
            return _("Rankings of individuals are switched off in this organisation.")
        if self.mode == "own":
            return _("This organisation shows each person only their own rank: no list of individuals.")
        if self.mode == "top_n":
            return _("This organisation shows only the top %(n)s people.") % {"n": self.top_n}
        return ""


def ranking_visibility(unit: OrgUnit) -> RankingVisibility:
    """The ranking policy of the unit's organisation. A report is printed and passed round,
    so it follows what the organisation lets learners see, not what its requester may see."""
    policy = credit_selectors.ranking_policy_for(credit_selectors.root_of(unit).pk)
    return RankingVisibility(mode=policy.visibility, top_n=policy.top_n, mask=policy.mask_names)


def ranking_header() -> list[str]:
    return [_("Rank"), _("Name"), _("Employee number"), _("Unit"), _("Credits in the period")]


def ranking_rows(figures: PeriodFigures, visibility: RankingVisibility, *, limit: int | None = None) -> Iterator[list]:
    """The individual ranking as the organisation's policy allows, names read in chunks."""
    if not visibility.shows_list:
        return
    entries = figures.ranking
    cut = len(entries)
    if visibility.mode == "top_n":
        cut = min(cut, visibility.top_n)
    if limit is not None:
        cut = min(cut, limit)
    names = {u.unit_id: u.full_name for u in figures.units}
    ranks = competition_ranks([points for points, _pid in entries[:cut]])
    for start in range(0, cut, CHUNK):
        chunk = entries[start : start + CHUNK][: cut - start]
        people = {
            pk: (name, number, unit_id)
            for pk, name, number, unit_id in User.objects.filter(pk__in=[pid for _p, pid in chunk]).values_list(
                "pk", "name", "employee_no", "unit_id"
            )
        }
        for points, pid in chunk:
            name, number, unit_id = people.get(pid, ("", "", None))
            if visibility.mask:
                name, number = credit_selectors.mask_name(name), ""
            yield [next(ranks), name, number, names.get(unit_id, ""), q2(Decimal(-points) / 100)]


def behind_header() -> list[str]:
    return [
        _("Name"), _("Employee number"), _("Unit"), _("Credits this year"), _("Pro-rata target"),
        _("Short by"), _("Credits in the period"),
    ]


def behind_row(pf: PersonFigures, unit_names: dict[int, str]) -> list:
    # Seven cells: this sheet can have a row per person of the organisation, and every
    # cell costs (the annual requirement is the target's level default, not repeated here).
    return [pf.name, pf.employee_no, unit_names.get(pf.unit_id, ""), pf.year_total, pf.target,
            pf.shortfall, pf.period_total]


class BehindCollector:
    """Keeps the `limit` people furthest behind (for a printed page), in bounded memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self._heap: list[tuple[Decimal, int, PersonFigures]] = []

    def add(self, pf: PersonFigures) -> None:
        if not pf.is_behind:
            return
        self.count += 1
        item = (pf.shortfall, -pf.person_id, pf)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, item)
        elif item[:2] > self._heap[0][:2]:
            heapq.heapreplace(self._heap, item)

    def rows(self) -> list[PersonFigures]:
        return [pf for _s, _p, pf in sorted(self._heap, key=lambda i: (-i[0], -i[1]))]


# --- Micro-classes (下午微课堂) in the period -------------------------------------------------------


def _sessions_in(viewer: User, unit: OrgUnit, window: Window):
    return (
        session_selectors.sessions_visible_to(viewer)
        .filter(host_unit__path__startswith=unit.path, start__gte=window.start, start__lt=window.end)
        .exclude(status="cancelled")
    )


def classes_by_month(viewer: User, unit: OrgUnit, window: Window) -> list[MonthClasses]:
    """Classes held in each month that has begun, against the programme's monthly target."""
    now = timezone.now()
    monthly_target = session_selectors.rules_for(unit).monthly_target
    held: dict[tuple[int, int], int] = defaultdict(int)
    for start in _sessions_in(viewer, unit, window).filter(start__lte=now).values_list("start", flat=True):
        local = timezone.localtime(start, portal_tz())
        held[(local.year, local.month)] += 1
    months = []
    for month in window.months():
        started = dt.datetime.combine(month, dt.time.min, tzinfo=portal_tz()) <= now
        months.append(
            MonthClasses(month=month, held=held.get((month.year, month.month), 0),
                         target=monthly_target if started else None)
        )
    return months


def _class_rates(window: Window) -> dict[int, tuple[int, int]]:
    return evaluation_selectors.class_rates(year=window.year)


def _add_satisfaction(viewer: User, unit: OrgUnit, window: Window, figures: PeriodFigures) -> None:
    rates = _class_rates(window)
    for sid in _sessions_in(viewer, unit, window).values_list("pk", flat=True):
        if sid in rates:
            satisfied, answers = rates[sid]
            figures.satisfied_answers += satisfied
            figures.overall_answers += answers
            figures.classes_rated += 1


def class_header() -> list[str]:
    return [
        _("Date"), _("Class"), _("Track"), _("Host unit"), _("Speakers"), _("Status"),
        _("Attended"), _("Absent"), _("Satisfaction (%)"), _("Answers"),
    ]


def class_rows(viewer: User, unit: OrgUnit, window: Window, *, limit: int | None = None) -> Iterator[list]:
    """Each class of the period with its attendance and satisfaction (when published)."""
    rates = _class_rates(window)
    full = org_selectors.unit_full_names(OrgUnit.objects.within((unit.path,)))
    sessions = (
        _sessions_in(viewer, unit, window)
        .select_related("track")
        .prefetch_related("speaker_links__speaker")
        # One join (the register) per class: counting it twice needs no DISTINCT.
        .annotate(
            attended=Count("attendance", filter=Q(attendance__status__in=("present", "late"))),
            absent=Count("attendance", filter=Q(attendance__status="absent")),
        )
        .order_by("start", "pk")
    )
    if limit is not None:
        sessions = sessions[:limit]
    for s in sessions:
        satisfied, answers = rates.get(s.pk, (0, 0))
        yield [
            timezone.localtime(s.start, portal_tz()), s.title, s.track.name if s.track_id else "",
            full.get(s.host_unit_id, ""), "、".join(sp.name for sp in session_selectors.speakers_of(s)),
            s.get_status_display(), s.attended, s.absent, percent(satisfied, answers) if answers else None,
            answers or None,
        ]


# --- Courses and exams of the subtree in the period ------------------------------------------------


def course_header() -> list[str]:
    return [_("Course"), _("Completions"), _("People"), _("Credits")]


def course_rows(viewer: User, unit: OrgUnit, window: Window, *, limit: int | None = None) -> Iterator[list]:
    """Online courses the subtree's people completed in the period, most completed first.

    Read from the ledger (a completion is a course credit that was not reversed), so the
    figures are exactly the credits the people earned. "Not reversed" is an anti-join on
    the (few) reversal entries, found through the unique index on `reverses`: written as
    a plain correlated NOT EXISTS, PostgreSQL hashed the whole ledger for it (20 M rows,
    ~20 s of the quarterly report).
    """
    reversed_later = Exists(CreditEntry.objects.filter(reverses=OuterRef("pk"), reverses__isnull=False))
    rows = (
        credit_selectors.entries_visible_to(viewer)
        .filter(
            ~reversed_later, reverses__isnull=True, source_kind="course",
            person__unit__path__startswith=unit.path,
            occurred_at__gte=window.start, occurred_at__lt=window.end,
        )
        .values("source_ref")
        .annotate(label=Max("label"), n=Count("pk"), people=Count("person", distinct=True), points=Sum("points"))
        .order_by("-n", "source_ref")
    )
    if limit is not None:
        rows = rows[:limit]
    # One row per course: fetched whole, not through a server-side cursor, which PostgreSQL
    # never runs in parallel (this aggregation scans the quarter's ledger: 2 workers halve it).
    for row in rows:
        yield [row["label"] or row["source_ref"], row["n"], row["people"], q2(row["points"] or ZERO)]


def exam_header() -> list[str]:
    return [_("Exam"), _("Closes"), _("People who sat it"), _("Passed"), _("Pass rate (%)"), _("Average score (%)")]


def exam_rows(viewer: User, unit: OrgUnit, window: Window) -> Iterator[list]:
    """Exams open during the period, with the subtree's results (best attempt per person)."""
    exams = (
        evaluation_selectors.exams_visible_to(viewer)
        .filter(opens_at__lt=window.end, closes_at__gte=window.start)
        .order_by("closes_at", "pk")
    )
    for exam in exams:
        stats = (
            evaluation_selectors.exam_person_results(exam, viewer)
            .filter(unit__path__startswith=unit.path)
            .order_by()
            .aggregate(people=Count("pk"), passed=Count("pk", filter=Q(passed=True)), average=Avg("percent"))
        )
        if not stats["people"]:
            continue
        average = q2(Decimal(str(stats["average"]))) if stats["average"] is not None else None
        yield [exam.title, timezone.localtime(exam.closes_at, portal_tz()), stats["people"], stats["passed"],
               percent(stats["passed"], stats["people"]), average]


# --- Learning record (学习档案) ------------------------------------------------------------------------


@dataclass
class LearningRecord:
    """What one person did in one year, for the record and the certificate (学时证明)."""

    person: User
    unit_full_name: str
    year: int
    summary: object  # credits' YearSummary
    entries: list
    classes_attended: list
    classes_given: list
    courses: list
    exams: list
    awards: list
    issued_on: dt.date


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    tz = portal_tz()
    return (dt.datetime(year, 1, 1, tzinfo=tz), dt.datetime(year + 1, 1, 1, tzinfo=tz))


def learning_record(viewer: User, person: User, year: int) -> LearningRecord:
    """The person's year: every credit with its cause, classes attended and given, courses
    completed, exams and awards. Raises Http404 when the viewer may not see the person."""
    start, end = year_bounds(year)
    entries = list(
        credit_selectors.ledger_for(viewer, person)
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .order_by("occurred_at", "id")
    )
    attended = list(
        session_selectors.sessions_attended_by(person)
        .filter(start__gte=start, start__lt=end)
        .select_related("host_unit", "track")
        .order_by("start", "pk")
    )
    given = list(
        session_selectors.sessions_given_by(person)
        .filter(start__gte=start, start__lt=end)
        .exclude(status="cancelled")
        .select_related("host_unit", "track")
        .order_by("start", "pk")
    )
    courses = [e for e in entries if e.source_kind == "course" and not e.is_reversal and not e.is_reversed]
    exams = list(
        evaluation_selectors.my_attempts(person)
        .filter(submitted_at__gte=start, submitted_at__lt=end)
        .order_by("submitted_at", "pk")
    )
    awards = list(evaluation_selectors.awards_of(person).filter(year=year))
    return LearningRecord(
        person=person,
        unit_full_name=org_selectors.unit_full_name(person.unit) if person.unit_id else "",
        year=year,
        summary=credit_selectors.person_year_summary(person, year, with_rank=False),
        entries=entries,
        classes_attended=attended,
        classes_given=given,
        courses=courses,
        exams=exams,
        awards=awards,
        issued_on=timezone.localtime(timezone.now(), portal_tz()).date(),
    )


def record_entry_header() -> list[str]:
    return [_("Date"), _("Source"), _("Cause"), _("Credits"), _("Note")]


def record_entry_rows(record: LearningRecord) -> Iterator[list]:
    for e in record.entries:
        note = e.reason
        if e.is_reversal:
            note = _("reverses an earlier entry") + (f": {e.reason}" if e.reason else "")
        elif e.is_reversed:
            note = _("reversed later")
        yield [timezone.localtime(e.occurred_at, portal_tz()), source_label(e.source_kind), e.label, e.points, note]


def record_class_header() -> list[str]:
    return [_("Date"), _("Class"), _("Host unit"), _("Hours")]


def record_class_rows(sessions: list) -> Iterator[list]:
    for s in sessions:
        hours = q2(Decimal((s.end - s.start).total_seconds()) / Decimal(3600))
        yield [timezone.localtime(s.start, portal_tz()), s.title, s.host_unit.name, hours]


def record_exam_header() -> list[str]:
    return [_("Submitted"), _("Exam"), _("Score (%)"), _("Passed")]


def record_exam_rows(record: LearningRecord) -> Iterator[list]:
    for a in record.exams:
        yield [timezone.localtime(a.submitted_at, portal_tz()), a.exam.title, a.percent,
               pgettext("passed", "yes") if a.passed else pgettext("passed", "no")]


def record_award_header() -> list[str]:
    return [_("Year"), _("Award"), _("Citation")]


def record_award_rows(record: LearningRecord) -> Iterator[list]:
    for a in record.awards:
        yield [a.year, a.award_type.name, a.citation]


def record_source_rows(record: LearningRecord) -> Iterator[list]:
    for line in record.summary.by_source:
        yield [line.label, line.raw, line.counted, line.cap]


# --- Attendance export ---------------------------------------------------------------------------


def attendance_rows(viewer: User, unit: OrgUnit, date_from: dt.date, date_to: dt.date):
    """(header, row count, row generator) of the attendance export (the micro-classes
    app's own export rows, run here as a job)."""
    qs = session_selectors.export_attendance(viewer, unit=unit, date_from=date_from, date_to=date_to)
    return session_selectors.export_header(), qs.count(), session_selectors.attendance_export_rows(qs)
