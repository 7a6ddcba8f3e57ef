"""Reads of credits: prices of causes, a person's year, ledgers, rankings, compliance.

Other apps price what they award through the `*_points` functions and read a person's
standing through `person_year_summary`. Every read that shows people or units is
scoped with `org.selectors`, and the ranking reads apply the organisation's ranking
visibility (`RankingPolicy`) for learners. No read here scans the ledger for a total or
counts the people ahead of someone for the organisation or unit rank: those come from
the precomputed totals and ranks (or the live Redis sets for the current periods).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.functions import Rank
from django.http import Http404
from django.utils.translation import gettext as _

from credits import live, totals
from credits.models import (
    CreditEntry,
    PeriodKind,
    PersonTotal,
    RankingPolicy,
    RankingVisibility,
    RequiredOrElective,
    SourceKind,
    UnitTotal,
)
from credits.periods import Period, current_periods, local_today
from credits.rules import Rules, q2, rules_for_year
from org import selectors as org_selectors
from org.models import OrgUnit, User, ancestor_paths

ZERO = Decimal("0.00")


# --- Prices of causes (used by the apps that award credits) ---------------------------------


def _current_rules() -> Rules:
    return rules_for_year(current_periods()[0].year)


def _non_negative(value, field_name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValidationError({field_name: [_("Enter a number.")]}) from exc
    if not number.is_finite() or number < 0:
        raise ValidationError({field_name: [_("Enter a number of zero or more.")]})
    return number


def course_points(*, minutes: int) -> Decimal:
    """Points for completing a course of `minutes` (default ≥30 → 1, 15–30 → 0.5, <15 → 0.25)."""
    minutes_value = _non_negative(minutes, "minutes")
    policy = _current_rules().policy
    if minutes_value >= policy.course_long_minutes:
        return Decimal(policy.course_long_points)
    if minutes_value >= policy.course_medium_minutes:
        return Decimal(policy.course_medium_points)
    return Decimal(policy.course_short_points)


def attendance_points(*, hours: Decimal) -> Decimal:
    """Points for attending a class of `hours` hours."""
    hours_value = _non_negative(hours, "hours")
    return q2(hours_value * _current_rules().policy.attendance_points_per_hour)


def lecture_points(*, hours: Decimal) -> Decimal:
    """Points for giving a lecture of `hours` hours: a multiple of the class's hours."""
    hours_value = _non_negative(hours, "hours")
    return q2(hours_value * _current_rules().policy.lecture_multiplier)


def exam_points() -> Decimal:
    """Points for a passed exam."""
    return Decimal(_current_rules().policy.exam_points)


def award_points(*, award_code: str | None = None) -> Decimal:
    """Points for an award: the award type's own rule, else the default."""
    rules = _current_rules()
    if award_code and award_code in rules.award_points:
        return Decimal(rules.award_points[award_code])
    return Decimal(rules.policy.award_points)


def credit_policy():
    """The pricing policy in force (an unsaved default row when none was configured)."""
    return _current_rules().policy


def unit_label() -> str:
    """What points are called (学分 by default, or 学时)."""
    return _current_rules().unit_label


# --- Scopes of ranking -------------------------------------------------------------------------


def root_of(unit: OrgUnit) -> OrgUnit:
    if unit.depth == 1:
        return unit
    return OrgUnit.objects.get(path=unit.path[: OrgUnit.steplen])


def ranking_policy_for(root_id: int | None) -> RankingPolicy:
    """The organisation's ranking policy; an unsaved default (top 10 + own) when unset."""
    policy = RankingPolicy.objects.filter(root_id=root_id).first() if root_id else None
    return policy or RankingPolicy(root_id=root_id)


def can_see_full_rankings(viewer: User, unit: OrgUnit) -> bool:
    """Admins, managers and class teachers see their scope's full lists, unmasked."""
    scope = org_selectors.scope_for(viewer)
    return scope.view is None or scope.covers(unit, "view")


def ranking_scopes(viewer: User) -> list[OrgUnit]:
    """Units whose subtree the viewer may rank: their own unit's ancestors and their view scope.

    A learner may look at the whole organisation and the subtrees they belong to; an
    admin or manager also at every unit they may view.
    """
    scope = org_selectors.scope_for(viewer)
    if scope.view is None:
        return list(OrgUnit.objects.order_by("path"))
    q = Q(pk__in=[])
    if viewer.unit_id:
        unit = viewer.unit
        q |= Q(path__in=ancestor_paths(unit.path))
    for path in scope.view:
        q |= Q(path__startswith=path)
        # The organisation an admin works in can be ranked as a whole too.
        q |= Q(path=path[: OrgUnit.steplen])
    return list(OrgUnit.objects.filter(q).order_by("path"))


def ranking_scope(viewer: User, unit_id: int | None) -> OrgUnit:
    """The unit whose subtree is ranked: `unit_id` when allowed (else 404), default own org."""
    if unit_id is None:
        if viewer.unit_id:
            return root_of(viewer.unit)
        first_root = OrgUnit.objects.get_first_root_node()
        if first_root is None:
            raise Http404
        return first_root
    allowed = {u.pk: u for u in ranking_scopes(viewer)}
    if unit_id not in allowed:
        raise Http404
    return allowed[unit_id]


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: the surname's first character stays."""
    name = name.strip()
    if len(name) <= 1:
        return name or "*"
    return name[0] + "*" * (len(name) - 1)


# --- A person's year --------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceLine:
    kind: str
    label: str
    raw: Decimal
    counted: Decimal
    cap: Decimal | None
    counts_as: str


@dataclass(frozen=True)
class RankInfo:
    """Competition rank (ties share) among the active people of the org and of the unit."""

    period: str
    rank_org: int | None
    org_size: int | None
    rank_unit: int | None
    unit_size: int | None
    live: bool = False
    total: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class YearSummary:
    person_id: int
    year: int
    unit_label: str
    total: Decimal
    required: Decimal | None
    required_from_required: Decimal | None
    earned_required: Decimal
    earned_elective: Decimal
    by_source: list[SourceLine]
    progress_percent: int
    required_percent: int
    elective_percent: int
    target_to_date: Decimal | None
    on_track: bool | None
    distinguishes_required: bool
    rank: RankInfo | None = None
    entries: int = 0


def _percent(part: Decimal, whole: Decimal | None) -> int:
    if not whole or whole <= 0:
        return 0
    return max(0, min(100, int((part * 100 / whole).to_integral_value(rounding=ROUND_HALF_UP))))


def person_year_summary(person: User, year: int, *, with_rank: bool = True) -> YearSummary:
    """Credits of `person` in `year` against the requirement of their cadre level.

    One read of the person's year row; the rank comes from the precomputed columns
    (or the live sets). `total` has the annual caps applied; `by_source` shows what
    each source earned and how much of it counted.
    """
    rules = rules_for_year(year)
    row = PersonTotal.objects.filter(person_id=person.pk, period=str(year)).first()
    level_id = person.cadre_level_id
    requirement = rules.requirement_for(level_id)
    lines: list[SourceLine] = []
    earned = {RequiredOrElective.REQUIRED: ZERO, RequiredOrElective.ELECTIVE: ZERO}
    for kind, label in SourceKind.choices:
        raw = q2(Decimal(getattr(row, f"src_{kind}"))) if row else ZERO
        cap = rules.cap_for(kind, level_id)
        counted = min(raw, cap) if cap is not None else raw
        counts_as = rules.sources[kind].counts_as
        earned[counts_as] += counted
        if raw or cap is not None:
            lines.append(SourceLine(kind, str(label), raw, counted, cap, counts_as))
    total = q2(Decimal(row.total)) if row else ZERO
    target = None
    on_track = None
    if requirement is not None:
        fraction = Period(PeriodKind.YEAR, year).fraction_elapsed(local_today())
        target = q2(requirement.points * Decimal(str(fraction)))
        on_track = total >= target
    required_points = requirement.points if requirement else None
    return YearSummary(
        person_id=person.pk,
        year=year,
        unit_label=rules.unit_label,
        total=total,
        required=required_points,
        required_from_required=requirement.required_points if requirement else None,
        earned_required=earned[RequiredOrElective.REQUIRED],
        earned_elective=earned[RequiredOrElective.ELECTIVE],
        by_source=lines,
        progress_percent=_percent(total, required_points),
        required_percent=_percent(max(earned[RequiredOrElective.REQUIRED], ZERO), required_points),
        elective_percent=_percent(max(earned[RequiredOrElective.ELECTIVE], ZERO), required_points),
        target_to_date=target,
        on_track=on_track,
        distinguishes_required=bool(requirement and requirement.required_points is not None),
        rank=person_rank(person, Period(PeriodKind.YEAR, year), row=row) if with_rank else None,
        entries=row.entries if row else 0,
    )


def person_rank(person: User, period: Period, *, row: object = None) -> RankInfo:
    """The person's rank in their organisation and unit for `period`, without counting.

    One round trip reads the person's total, the ranking steps just above it and the
    sizes of both rankings (for the current periods with Redis, the ranks come from the
    live sets instead). Someone without credits ranks right after everyone with some.
    `row` is accepted for callers that already read the total; it is not needed.
    """
    unit_id = person.unit_id
    if not unit_id:
        return RankInfo(period.key, None, None, None, None)
    is_live = live.is_synced(period)
    # With live sets, the ranks come from them: the snapshot reads the total and sizes only.
    snap = totals.rank_snapshot(person_id=person.pk, unit_id=unit_id, period_key=period.key, ranks=not is_live)
    if not person.is_active or snap.root_id is None:
        return RankInfo(period.key, None, snap.org_size, None, snap.unit_size, total=snap.total)
    if is_live:
        ranks = live.ranks_of(period=period, person_id=person.pk, root_id=snap.root_id, unit_id=unit_id)
        return RankInfo(
            period.key, ranks.rank_org, snap.org_size, ranks.rank_unit, snap.unit_size, live=True, total=snap.total
        )
    return RankInfo(period.key, snap.rank_org, snap.org_size, snap.rank_unit, snap.unit_size, total=snap.total)


# --- Ledgers ------------------------------------------------------------------------------------


def entries_with_context() -> QuerySet[CreditEntry]:
    """Entries with everything a ledger line shows, in one query."""
    return CreditEntry.objects.select_related("created_by", "reverses", "unit").annotate(
        is_reversed=Exists(CreditEntry.objects.filter(reverses=OuterRef("pk")))
    )


def ledger_for(viewer: User, person: User) -> QuerySet[CreditEntry]:
    """A person's ledger, newest first; only for themselves and viewers whose scope covers them."""
    if not org_selectors.can_view_person(viewer, person):
        raise Http404
    return entries_with_context().filter(person=person).order_by("-occurred_at", "-id")


def entry_for(viewer: User, entry_id: int) -> CreditEntry:
    """One entry the viewer may see (their own, or of a person in their scope), else 404."""
    entry = entries_with_context().select_related("person", "person__unit").filter(pk=entry_id).first()
    if entry is None or not org_selectors.can_view_person(viewer, entry.person):
        raise Http404
    return entry


def entries_visible_to(viewer: User) -> QuerySet[CreditEntry]:
    """Entries of every person the viewer may see (themselves at least)."""
    people = org_selectors.people_in_scope(viewer)
    return entries_with_context().filter(person__in=people.values("pk")).select_related("person")


def person_totals_visible_to(viewer: User, *, period_keys: list[str]) -> QuerySet[PersonTotal]:
    """Precomputed per-person totals of the given periods for everyone the viewer may see.

    For reports that need many people's sums (a quarter's months and the year to date,
    say): a few rows per person instead of their ledger. Each row has `person_id`,
    `period` (``2025``, ``2025-Q3``, ``2025-07``), the raw `src_*` sums per source,
    `total` (caps applied on year rows) and `entries`. Nobody without credits in a
    period has a row for it.
    """
    people = org_selectors.people_in_scope(viewer)
    return PersonTotal.objects.filter(period__in=list(period_keys), person__in=people.values("pk"))


def adjustments_visible_to(viewer: User) -> QuerySet[CreditEntry]:
    """Manual adjustments (and their reversals) of people in the viewer's manage scope."""
    people = org_selectors.people_in_scope(viewer, access="manage")
    return (
        entries_with_context()
        .filter(person__in=people.values("pk"), source_kind=SourceKind.ADJUSTMENT)
        .select_related("person")
        .order_by("-created_at", "-id")
    )


def person_for_adjustment(viewer: User, *, employee_no: str = "", person_id: int | None = None) -> User:
    """A person the viewer may adjust credits for, by employee number or id; else 404."""
    people = org_selectors.people_in_scope(viewer, access="manage").select_related("unit")
    if person_id is not None:
        person = people.filter(pk=person_id).first()
    else:
        person = people.filter(employee_no=employee_no.strip()).first()
    if person is None:
        raise Http404
    return person


# --- Rankings ---------------------------------------------------------------------------------------


@dataclass
class RankRow:
    rank: int | None
    name: str
    unit_name: str
    total: Decimal
    is_me: bool = False
    person_id: int | None = None
    unit_id: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class RankingPage:
    """One page of a ranking as the viewer may see it."""

    period: Period
    scope: OrgUnit
    visibility: str
    rows: list[RankRow]
    me: RankRow | None
    page: int
    page_size: int
    count: int
    has_next: bool
    live: bool = False
    masked: bool = False
    message: str = ""
    ranked: int = 0  # everyone in the ranking, whatever the viewer may page through

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _visible_mode(viewer: User, scope: OrgUnit) -> tuple[str, int, bool]:
    """(visibility, N, mask) for this viewer: staff with the scope in view see everything."""
    if can_see_full_rankings(viewer, scope):
        return RankingVisibility.FULL, 0, False
    policy = ranking_policy_for(root_of(scope).pk)
    return policy.visibility, policy.top_n, policy.mask_names


def _window(mode: str, top_n: int, page: int, page_size: int) -> tuple[int, int] | None:
    """(offset, limit) of rows to show on `page`, or None when no list is shown."""
    if mode == RankingVisibility.FULL:
        return (page - 1) * page_size, page_size
    if mode == RankingVisibility.TOP_N:
        offset = (page - 1) * page_size
        if offset >= top_n:
            return None
        return offset, min(page_size, top_n - offset)
    return None


def people_ranking(
    viewer: User, *, period: Period, scope: OrgUnit, page: int = 1, page_size: int = 50
) -> RankingPage:
    """People of `scope`'s subtree ranked by their total in `period` (ties share a rank).

    The whole organisation (a root) and a unit without children read precomputed ranks
    (or, for the current periods with Redis, the live sets): a page is one indexed
    read. Other subtrees are ranked with one window query over the subtree.
    """
    if page < 1:
        raise ValueError(_("The page number must be 1 or more."))
    mode, top_n, mask = _visible_mode(viewer, scope)
    result = RankingPage(
        period=period, scope=scope, visibility=mode, rows=[], me=None,
        page=page, page_size=page_size, count=0, has_next=False, masked=mask,
    )
    if mode == RankingVisibility.OFF:
        result.message = _("Rankings are switched off in your organisation.")
        return result
    window = _window(mode, top_n, page, page_size)
    is_root = scope.depth == 1
    is_leaf = scope.numchild == 0
    result.live = (is_root or is_leaf) and live.is_synced(period)

    # (person id, name, unit id, unit name, total, rank)
    rows: list[tuple[int, str, int | None, str, Decimal, int]] = []
    if result.live:
        key = live.org_key(period.key, scope.pk) if is_root else live.unit_key(period.key, scope.pk)
        ranked: list[tuple[int, Decimal, int]] = []
        if window is not None:
            ranked, result.count = live.top(key=key, offset=window[0], limit=window[1])
        else:
            result.count = live.client().zcard(key)
        people = {
            pk: (name, unit_id, unit_name)
            for pk, name, unit_id, unit_name in User.objects.filter(pk__in=[r[0] for r in ranked])
            .values_list("pk", "name", "unit_id", "unit__name")
        }
        rows = [(pid, *people[pid], total, rank) for pid, total, rank in ranked if pid in people]
    elif is_root or is_leaf:
        # In the order and with the totals of the last rank refresh — those the ranking
        # steps give the ranks of: a page is a short scan of the (period, organisation|unit,
        # rank_total) index, and its size is the board's (counting 200,000 rows per page
        # view would not do) or the unit's count.
        if is_root:
            result.count = totals.board_size(period_key=period.key, root_id=scope.pk)
        else:
            result.count = PersonTotal.objects.filter(
                period=period.key, person__is_active=True, unit_id=scope.pk
            ).count()
        if window is not None:
            offset, limit = window
            start = max(offset - 1, 0)  # one row more in front tells whether the page starts inside a tie
            fetched = totals.ranking_page(
                period_key=period.key, scope="o" if is_root else "u", scope_id=scope.pk,
                start=start, stop=offset + limit,
            )
            rows = _competition_ranks(fetched, offset, start, scope, period, is_root, is_leaf)
    else:
        ranked_qs = PersonTotal.objects.filter(
            period=period.key, person__is_active=True, unit__path__startswith=scope.path
        ).order_by("-total", "person_id")
        result.count = ranked_qs.count()
        if window is not None:
            offset, limit = window
            start = max(offset - 1, 0)
            fetched = list(
                ranked_qs.values_list("person_id", "person__name", "unit_id", "unit__name", "total")[
                    start : offset + limit
                ]
            )
            rows = _competition_ranks(fetched, offset, start, scope, period, is_root, is_leaf)
    result.ranked = result.count
    if mode == RankingVisibility.TOP_N:
        result.count = min(result.count, top_n)
    result.has_next = window is not None and result.count > page * page_size
    for pid, name, unit_id, unit_name, total, rank in rows:
        is_me = pid == viewer.pk
        row = RankRow(
            rank=rank,
            name=name if (is_me or not mask) else mask_name(name),
            unit_name=unit_name or "",
            total=q2(Decimal(total)),
            is_me=is_me,
            person_id=pid,
            unit_id=unit_id,
        )
        result.rows.append(row)
        if is_me:
            result.me = row
    if result.me is None and viewer.unit_id and scope.contains(viewer.unit):
        result.me = _my_row(viewer, period, scope, is_root, is_leaf)
    return result


def _competition_ranks(
    fetched: list[tuple], offset: int, start: int, scope: OrgUnit, period: Period, is_root: bool, is_leaf: bool
) -> list[tuple]:
    """Ranks 1, 2, 2, 4 for rows in total order; `fetched` starts at position `start`.

    Within the page a rank is the position of the first row of its tie. A page that
    opens inside a tie takes the tie's rank from the ranking steps (the whole
    organisation or unit) or, in an intermediate subtree, by counting those above.
    """
    rows: list[tuple] = []
    previous_total, previous_rank = None, None
    for index, (pid, name, unit_id, unit_name, total) in enumerate(fetched):
        position = start + index  # 0-based position in the ranking
        if position < offset:
            previous_total = total
            continue
        if previous_total is not None and total == previous_total:
            if previous_rank is None:  # the tie began on an earlier page
                if is_root or is_leaf:
                    previous_rank = totals.rank_of_total(
                        scope="o" if is_root else "u", scope_id=scope.pk, period_key=period.key, total=total
                    )
                else:
                    previous_rank = 1 + PersonTotal.objects.filter(
                        period=period.key, person__is_active=True, unit__path__startswith=scope.path,
                        total__gt=total,
                    ).count()
            rank = previous_rank
        else:
            rank = position + 1
        rows.append((pid, name, unit_id, unit_name, total, rank))
        previous_total, previous_rank = total, rank
    return rows


def _my_row(viewer: User, period: Period, scope: OrgUnit, is_root: bool, is_leaf: bool) -> RankRow:
    if is_root or (is_leaf and scope.pk == viewer.unit_id):
        info = person_rank(viewer, period)
        rank = info.rank_org if is_root else info.rank_unit
        total = info.total
    else:
        # An intermediate subtree has no precomputed rank: count those ahead in it.
        row = PersonTotal.objects.filter(person_id=viewer.pk, period=period.key).values_list("total", flat=True)
        total = q2(Decimal(row.first() or 0))
        ahead = PersonTotal.objects.filter(
            period=period.key, person__is_active=True, unit__path__startswith=scope.path, total__gt=total
        ).count()
        rank = ahead + 1 if viewer.is_active else None
    return RankRow(
        rank=rank,
        name=viewer.name,
        unit_name=viewer.unit.name if viewer.unit_id else "",
        total=total,
        is_me=True,
        person_id=viewer.pk,
        unit_id=viewer.unit_id,
    )


UNIT_METRICS = ("average", "compliance")


def units_ranking(
    viewer: User,
    *,
    period: Period,
    scope: OrgUnit,
    by: str = "average",
    page: int = 1,
    page_size: int = 50,
) -> RankingPage:
    """Units of `scope`'s subtree ranked by average credits per member or compliance rate.

    Compliance compares each member with the pro-rata annual requirement, so it is only
    defined for a year.
    """
    if by not in UNIT_METRICS:
        raise ValueError(_("Rank units by “average” or “compliance”."))
    if by == "compliance" and period.kind != PeriodKind.YEAR:
        raise ValueError(
            _("Compliance is measured against the annual requirement: choose a year, such as %(year)s.")
            % {"year": period.year}
        )
    if page < 1:
        raise ValueError(_("The page number must be 1 or more."))
    mode, top_n, _mask = _visible_mode(viewer, scope)
    result = RankingPage(
        period=period, scope=scope, visibility=mode, rows=[], me=None,
        page=page, page_size=page_size, count=0, has_next=False,
    )
    if mode == RankingVisibility.OFF:
        result.message = _("Rankings are switched off in your organisation.")
        return result
    rank_field = "rank_avg" if by == "average" else "rank_compliance"
    order_field = "avg_points" if by == "average" else "compliance_rate"
    base = UnitTotal.objects.filter(period=period.key, member_count__gt=0)
    if scope.depth == 1:
        ranked = base.filter(root_id=scope.pk, **{f"{rank_field}__isnull": False}).annotate(
            r=F(rank_field)
        )
    else:
        ranked = base.filter(unit__path__startswith=scope.path).annotate(
            r=Window(Rank(), order_by=F(order_field).desc())
        )
    ranked = ranked.order_by("r", "unit__path").select_related("unit")
    result.count = ranked.count()
    result.ranked = result.count
    window = _window(mode, top_n, page, page_size)
    if mode == RankingVisibility.TOP_N:
        result.count = min(result.count, top_n)
    result.has_next = window is not None and result.count > page * page_size
    own_unit_id = viewer.unit_id
    if window is not None:
        offset, limit = window
        for ut in ranked[offset : offset + limit]:
            result.rows.append(_unit_row(ut, ut.r, own_unit_id))
    if own_unit_id and scope.contains(viewer.unit):
        mine = next((r for r in result.rows if r.unit_id == own_unit_id), None)
        if mine is None:
            ut = base.filter(unit_id=own_unit_id).select_related("unit").first()
            if ut is not None:
                if scope.depth == 1:
                    rank = getattr(ut, rank_field)
                else:
                    ahead = base.filter(
                        unit__path__startswith=scope.path, **{f"{order_field}__gt": getattr(ut, order_field)}
                    ).count()
                    rank = ahead + 1
                mine = _unit_row(ut, rank, own_unit_id)
        result.me = mine
    return result


def _unit_row(ut: UnitTotal, rank: int | None, own_unit_id: int | None) -> RankRow:
    return RankRow(
        rank=rank,
        name=ut.unit.name,
        unit_name=ut.unit.name,
        total=q2(Decimal(ut.avg_points)),
        is_me=ut.unit_id == own_unit_id,
        unit_id=ut.unit_id,
        extra={
            "members": ut.member_count,
            "points": q2(Decimal(ut.points)),
            "on_track": ut.on_track_count,
            "compliance_percent": round(float(ut.compliance_rate) * 100, 1),
        },
    )


def top_units(viewer: User, *, period: Period, limit: int = 5) -> RankingPage | None:
    """The top units of the viewer's organisation for the home panel (respecting visibility)."""
    if not viewer.unit_id:
        return None
    scope = root_of(viewer.unit)
    return units_ranking(viewer, period=period, scope=scope, page=1, page_size=limit)


def top_people(viewer: User, *, period: Period, limit: int = 5) -> RankingPage | None:
    if not viewer.unit_id:
        return None
    scope = root_of(viewer.unit)
    return people_ranking(viewer, period=period, scope=scope, page=1, page_size=limit)


# --- Compliance -----------------------------------------------------------------------------------


@dataclass
class ComplianceRow:
    unit: OrgUnit
    full_name: str
    members: int
    on_track: int
    behind: int
    compliance_percent: float
    avg_points: Decimal
    stats_date: object


@dataclass
class ComplianceReport:
    year: int
    fraction_percent: int
    rows: list[ComplianceRow]
    units_total: int
    people_behind: int


def compliance_units(viewer: User, *, year: int, unit: OrgUnit | None = None, behind_only: bool = True) -> QuerySet[UnitTotal]:
    """Year rows of units in the viewer's view scope (under `unit`), least compliant first.

    Only admins, managers and class teachers have a view scope; learners get
    PermissionDenied. A unit is behind when any active member is below the pro-rata
    requirement.
    """
    scope = org_selectors.scope_for(viewer)
    if scope.view == ():
        raise PermissionDenied(_("Unit compliance is for admins and managers."))
    units = OrgUnit.objects.within(scope.view)
    if unit is not None:
        if not scope.covers(unit, "view"):
            raise Http404
        units = units.filter(path__startswith=unit.path)
    rows = UnitTotal.objects.filter(
        period=str(year), unit__in=units.values("pk"), member_count__gt=0
    ).select_related("unit")
    if behind_only:
        rows = rows.filter(on_track_count__lt=F("member_count"))
    return rows.order_by("compliance_rate", "unit__path")


def compliance_row(ut: UnitTotal, full_names: dict[int, str]) -> ComplianceRow:
    return ComplianceRow(
        unit=ut.unit,
        full_name=full_names.get(ut.unit_id, ut.unit.name),
        members=ut.member_count,
        on_track=ut.on_track_count,
        behind=ut.behind_count,
        compliance_percent=round(float(ut.compliance_rate) * 100, 1),
        avg_points=q2(Decimal(ut.avg_points)),
        stats_date=ut.stats_date,
    )


@dataclass
class PersonProgress:
    person: User
    total: Decimal
    target: Decimal
    required: Decimal | None


def people_behind(viewer: User, *, unit: OrgUnit, year: int) -> list[PersonProgress]:
    """Active direct members of `unit` below the pro-rata requirement (for the drill-down)."""
    if not org_selectors.scope_for(viewer).covers(unit, "view"):
        raise Http404
    rules = rules_for_year(year)
    fraction = Decimal(str(Period(PeriodKind.YEAR, year).fraction_elapsed(local_today())))
    totals = dict(
        PersonTotal.objects.filter(period=str(year), person__unit=unit).values_list("person_id", "total")
    )
    behind: list[PersonProgress] = []
    for person in User.objects.filter(unit=unit, is_active=True).select_related("cadre_level").order_by("employee_no"):
        requirement = rules.requirement_for(person.cadre_level_id)
        if requirement is None:
            continue
        target = q2(requirement.points * fraction)
        total = q2(Decimal(totals.get(person.pk, 0)))
        if total < target:
            behind.append(PersonProgress(person, total, target, requirement.points))
    return behind


# --- Bulk reads for reports ------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelStandard:
    """How a cadre level's year is judged: the annual requirement (None: none), the pro-rata
    target on the day asked for (None without a requirement) and each source's annual cap
    (None: uncapped), under the year's rules."""

    requirement: Decimal | None
    target: Decimal | None
    caps: dict[str, Decimal | None]

    def counted(self, raw_by_source: dict[str, Decimal]) -> Decimal:
        """What raw year-to-date sums per source count towards the year (caps applied)."""
        total = Decimal("0")
        for kind, raw in raw_by_source.items():
            cap = self.caps.get(kind)
            total += raw if cap is None else min(raw, cap)
        return total


def level_standard(year: int, cadre_level_id: int | None, *, as_of) -> LevelStandard:
    """The requirement, pro-rata target on `as_of` (a date) and caps of a cadre level in
    `year` — what `person_year_summary` judges one person by, for reports judging many."""
    rules = rules_for_year(year)
    requirement = rules.requirement_for(cadre_level_id)
    fraction = Decimal(str(Period(PeriodKind.YEAR, year).fraction_elapsed(as_of)))
    return LevelStandard(
        requirement=requirement.points if requirement else None,
        target=q2(requirement.points * fraction) if requirement else None,
        caps=rules.caps_for_level(cadre_level_id),
    )


def quarter_source_sums(viewer: User, *, unit: OrgUnit, year: int, quarters: tuple[int, ...], through: int):
    """Per active person of `unit`'s subtree whom the viewer may see and who has credits
    in quarters 1…`through` of `year`: the raw sums per source in `quarters` and in the
    year up to the end of quarter `through`, read from the precomputed quarter totals
    (at most four rows per person), never from the ledger.

    A values-list of ``(unit path, person id, p_<kind>…, y_<kind>…)`` (kinds in
    `SourceKind` order; a sum is None when the person has no row for those quarters),
    ordered by unit path and person id — the order of the people of a unit report, so a
    report merges the two streams in one pass. Sums are uncapped: apply
    `level_standard(...).counted` to the year-to-date ones.
    """
    if not 1 <= through <= 4 or not quarters or not all(1 <= q <= through for q in quarters):
        raise ValueError("quarters must lie within 1…through ≤ 4")
    from django.db.models import Sum  # appended section: the module's imports are left as they are

    in_window = Q(period__in=[f"{year:04d}-Q{q}" for q in quarters])
    sums = {}
    for kind in SourceKind.values:
        sums[f"p_{kind}"] = Sum(f"src_{kind}", filter=in_window)
        sums[f"y_{kind}"] = Sum(f"src_{kind}")
    return (
        person_totals_visible_to(viewer, period_keys=[f"{year:04d}-Q{q}" for q in range(1, through + 1)])
        .filter(person__unit__path__startswith=unit.path, person__is_active=True)
        .values("person__unit__path", "person_id")
        .annotate(**sums)
        .order_by("person__unit__path", "person_id")
        .values_list("person__unit__path", "person_id", *sums.keys())
    )
