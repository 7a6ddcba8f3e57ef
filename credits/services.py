"""Writes of credits. `credit_award` is the only function that ever inserts a ledger entry.

Every other app credits a person by calling `credit_award` with the cause's
idempotency key; corrections are `credit_reverse`, manual changes `credit_adjust`.
The totals of the entry's year, quarter and month are updated in the same transaction;
ranks follow after the commit (eagerly without Redis, within seconds with it).
Configuration (policy, source rules, award rules, requirements, ranking visibility) is
written only by system admins, through the `*_save` / `*_delete` functions here.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from credits import live, totals
from credits.models import (
    POINTS_MAX_DIGITS,
    AwardRule,
    CreditEntry,
    CreditPolicy,
    RankingPolicy,
    RankingVisibility,
    RequiredOrElective,
    Requirement,
    SourceKind,
    SourceRule,
)
from credits.periods import (
    MAX_YEAR,
    MIN_YEAR,
    Period,
    current_periods,
    period_from_key,
    periods_of,
    year_periods,
)
from credits.rules import forget_rules, rules_for_year
from org import selectors as org_selectors
from org.models import CadreLevel, OrgUnit, User

log = logging.getLogger(__name__)

MAX_POINTS = Decimal(10) ** (POINTS_MAX_DIGITS - 2) - Decimal("0.01")  # 999,999.99
REASON_MAX = 500
_SOURCE_KINDS = frozenset(SourceKind.values)  # the enum's .values builds a new list per call
CENT = Decimal("0.01")
ZERO_POINTS = Decimal("0.00")


# --- Validation -------------------------------------------------------------------------------


def clean_points(value: object, *, field: str = "points", allow_zero: bool = True) -> Decimal:
    """A points value as an exact Decimal with at most two decimals, or ValidationError.

    Refuses what is not a number (text, booleans, NaN, infinity), more than two decimals
    (0.125 would silently round) and magnitudes beyond ±999,999.99.
    """
    if isinstance(value, bool) or value is None:
        raise ValidationError({field: [_("Enter a number of points, such as 1 or 0.5.")]})
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({field: [_("Enter a number of points, such as 1 or 0.5.")]}) from None
    if not number.is_finite():
        raise ValidationError({field: [_("Points must be a finite number.")]})
    if abs(number) > MAX_POINTS:
        raise ValidationError(
            {field: [_("Points must be between −%(max)s and %(max)s.") % {"max": MAX_POINTS}]}
        )
    cents = number.quantize(CENT)
    if number != cents:
        raise ValidationError({field: [_("Points have at most two decimals (e.g. 0.25).")]})
    if not allow_zero and number == 0:
        raise ValidationError({field: [_("An adjustment of zero points changes nothing.")]})
    return cents + ZERO_POINTS  # -0.00 becomes 0.00


def _clean_reason(reason: str, *, required: bool, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise ValidationError({field: [_("Give a reason: it is shown in the person's ledger.")]})
    if len(reason) > REASON_MAX:
        raise ValidationError({field: [_("The reason is at most %(n)s characters.") % {"n": REASON_MAX}]})
    return reason


def _require_system_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_superuser:
        raise PermissionDenied(_("Only a system administrator may change the credit rules."))


# --- The ledger ------------------------------------------------------------------------------


def credit_award(
    *,
    person: User,
    source_kind: str,
    source_ref: str,
    points: Decimal,
    idempotency_key: str,
    occurred_at: datetime | None = None,
    created_by: User | None = None,
    reason: str = "",
    label: str = "",
) -> CreditEntry:
    """Credit `person` for a cause, once: the same `idempotency_key` returns the first entry.

    The insert is ``INSERT … ON CONFLICT (idempotency_key) DO NOTHING``: a concurrent
    call with the same key waits for the first and then finds its row, so a cause can
    never credit twice however often it is retried. The person's and the unit's
    totals of the entry's year, quarter and month change in the same transaction.
    `unit` of the entry is the person's unit now; the periods are those of
    `occurred_at` in Beijing time. The returned entry has ``created`` set to whether
    this call wrote it.
    """
    return _record(
        person=person,
        source_kind=source_kind,
        source_ref=source_ref,
        points=points,
        idempotency_key=idempotency_key,
        occurred_at=occurred_at,
        created_by=created_by,
        reason=reason,
        label=label,
    )


def _record(
    *,
    person: User,
    source_kind: str,
    source_ref: str,
    points: Decimal,
    idempotency_key: str,
    occurred_at: datetime | None,
    created_by: User | None,
    reason: str,
    label: str,
    reverses: CreditEntry | None = None,
) -> CreditEntry:
    errors: dict[str, list[str]] = {}
    if person is None or person.pk is None:
        errors["person"] = [_("Choose a person.")]
    if not isinstance(source_kind, str) or source_kind not in _SOURCE_KINDS:
        errors["source_kind"] = [
            _("Unknown source “%(kind)s”; use one of %(kinds)s.")
            % {"kind": str(source_kind)[:30], "kinds": ", ".join(SourceKind.values)}
        ]
    idempotency_key = (idempotency_key or "").strip()
    if not idempotency_key:
        errors["idempotency_key"] = [_("An idempotency key derived from the cause is required.")]
    elif len(idempotency_key) > 200:
        errors["idempotency_key"] = [_("The idempotency key is at most 200 characters.")]
    source_ref = (source_ref or "").strip()
    if len(source_ref) > 100:
        errors["source_ref"] = [_("The source reference is at most 100 characters.")]
    label = (label or "").strip()
    if len(label) > 200:
        errors["label"] = [_("The cause is at most 200 characters.")]
    try:
        points = clean_points(points)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        reason = _clean_reason(reason, required=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    now = timezone.now()
    if occurred_at is None:
        occurred_at = now
    elif not isinstance(occurred_at, datetime) or timezone.is_naive(occurred_at):
        errors["occurred_at"] = [_("The time of the cause must include a time zone.")]
    elif occurred_at > now + timedelta(days=1):
        errors["occurred_at"] = [_("The cause cannot lie in the future.")]
    elif occurred_at.year < MIN_YEAR:
        errors["occurred_at"] = [_("The cause is too far in the past.")]
    if errors:
        raise ValidationError(errors)

    periods = periods_of(occurred_at)
    person_unit_id = person.unit_id
    entry_unit_id = reverses.unit_id if reverses is not None else person_unit_id
    rules = rules_for_year(periods[0].year)
    caps = rules.caps_for_level(person.cadre_level_id)

    values = {
        "person_id": person.pk,
        "unit_id": entry_unit_id,
        "source_kind": source_kind,
        "source_ref": source_ref,
        "label": label,
        "points": points,
        "occurred_at": occurred_at,
        "created_at": now,
        "created_by_id": created_by.pk if created_by else None,
        "reason": reason,
        "reverses_id": reverses.pk if reverses else None,
        "idempotency_key": idempotency_key,
    }
    if connection.vendor == "postgresql":
        # One statement, atomic by itself (joins the caller's transaction if there is one).
        entry_id, applied = totals.record_entry(
            entry=values, person_unit_id=person_unit_id, periods=periods, caps=caps
        )
    else:
        with transaction.atomic():
            entry_id, applied = totals.record_entry(
                entry=values, person_unit_id=person_unit_id, periods=periods, caps=caps
            )
    if entry_id is None or applied is None:
        existing = CreditEntry.objects.get(idempotency_key=idempotency_key)
        if existing.person_id != person.pk or existing.points != points:
            log.warning(
                "Idempotency key %s reused for a different credit (entry %s)",
                idempotency_key,
                existing.pk,
            )
        existing.created = False
        return existing
    transaction.on_commit(
        lambda: _after_commit(
            person_id=person.pk,
            root_id=applied.root_id,
            unit_id=person_unit_id,
            person_totals={k: v[0] for k, v in applied.person.items()},
            period_keys=[p.key for p in periods],
        )
    )
    entry = CreditEntry(
        id=entry_id,
        person=person,
        unit_id=entry_unit_id,
        source_kind=source_kind,
        source_ref=source_ref,
        label=label,
        points=points,
        occurred_at=occurred_at,
        created_at=now,
        created_by=created_by,
        reason=reason,
        reverses=reverses,
        idempotency_key=idempotency_key,
    )
    entry._state.adding = False
    entry._state.db = connection.alias
    entry.created = True
    return entry


def _after_commit(
    *,
    person_id: int,
    root_id: int | None,
    unit_id: int | None,
    person_totals: dict[str, Decimal],
    period_keys: list[str],
) -> None:
    """Make the new totals visible in the rankings: live sets now, rank columns soon."""
    live.push(person_id=person_id, root_id=root_id, unit_id=unit_id, totals=person_totals)
    schedule_rank_refresh(period_keys)


def schedule_rank_refresh(period_keys: list[str]) -> None:
    """Queue one rank refresh for these periods unless one is already waiting.

    With a broker, awards within `CREDITS_RANK_DEBOUNCE_SECONDS` share one refresh (the
    task clears the flag when it starts, so an award committed after that start queues
    the next one). Without a broker the task runs right here, so ranks are correct as
    soon as the award returns.
    """
    from credits.tasks import refresh_ranks

    keys = sorted(set(period_keys))
    if not keys:
        return
    if refresh_ranks.app.conf.task_always_eager:
        refresh_ranks.apply(kwargs={"period_keys": keys})
        return
    from django.core.cache import cache

    flag = rank_refresh_flag(keys)
    delay = int(getattr(settings, "CREDITS_RANK_DEBOUNCE_SECONDS", 3))
    # This process queued the same refresh a moment ago: it has not started yet.
    now = time.monotonic()
    if _recently_scheduled.get(flag, 0.0) > now:
        return
    _recently_scheduled[flag] = now + delay / 2
    if cache.add(flag, 1, timeout=delay + 300):
        refresh_ranks.apply_async(kwargs={"period_keys": keys}, countdown=delay)


_recently_scheduled: dict[str, float] = {}


def rank_refresh_flag(keys: list[str]) -> str:
    return "credits:rank-refresh:" + ",".join(sorted(keys))


def credit_reverse(*, entry: CreditEntry, actor: User | None, reason: str) -> CreditEntry:
    """Cancel `entry` with a new entry of the opposite points that points back at it.

    The reversal lands in the original's period and unit so every total nets out.
    `actor=None` is a trusted caller (another app's service); a person must be a unit
    admin whose scope covers the entry's person. An entry is reversed at most once, and
    a reversal itself cannot be reversed (record a new award instead).
    """
    reason = _clean_reason(reason, required=True)
    entry = CreditEntry.objects.select_related("person", "person__unit").get(pk=entry.pk)
    if actor is not None and not org_selectors.can_manage_person(actor, entry.person):
        raise PermissionDenied(_("You may only correct credits of people in units you administer."))
    if entry.reverses_id is not None:
        raise ValidationError({"entry": [_("This entry is itself a reversal and cannot be reversed.")]})
    if CreditEntry.objects.filter(reverses=entry).exists():
        raise ValidationError({"entry": [_("This entry has already been reversed.")]})
    try:
        with transaction.atomic():
            reversal = _record(
                person=entry.person,
                source_kind=entry.source_kind,
                source_ref=entry.source_ref,
                points=-entry.points,
                idempotency_key=f"reversal:{entry.pk}",
                occurred_at=entry.occurred_at,
                created_by=actor,
                reason=reason,
                label=entry.label,
                reverses=entry,
            )
    except IntegrityError:
        raise ValidationError({"entry": [_("This entry has already been reversed.")]}) from None
    if not getattr(reversal, "created", True):
        raise ValidationError({"entry": [_("This entry has already been reversed.")]})
    return reversal


def credit_adjust(
    *,
    person: User,
    points: Decimal,
    reason: str,
    actor: User,
    idempotency_key: str | None = None,
) -> CreditEntry:
    """A unit admin adds (or takes away) points for a person in scope, with a reason.

    The adjustment is an ordinary ledger entry attributed to `actor`; the reason is
    mandatory and shown to the person. Inactive people are refused. `idempotency_key`
    (e.g. a form token or an API Idempotency-Key header) makes a double submit harmless.
    """
    errors: dict[str, list[str]] = {}
    try:
        points = clean_points(points, allow_zero=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        reason = _clean_reason(reason, required=True)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if person is None:
        errors["person"] = [_("Choose a person.")]
    elif not person.is_active:
        errors["person"] = [_("%(name)s is inactive: credits cannot be adjusted.") % {"name": person.name}]
    if errors:
        raise ValidationError(errors)
    if actor is None or not org_selectors.can_manage_person(actor, person):
        raise PermissionDenied(_("You may only adjust credits of people in units you administer."))
    token = (idempotency_key or "").strip()[:100] or uuid.uuid4().hex
    return _record(
        person=person,
        source_kind=SourceKind.ADJUSTMENT,
        source_ref=f"adjustment:{token}",
        points=points,
        idempotency_key=f"adjustment:{actor.pk}:{token}",
        occurred_at=None,
        created_by=actor,
        reason=reason,
        label="",
    )


# --- Derived totals ------------------------------------------------------------------------------


def ledger_years() -> list[int]:
    """Years (Beijing time) that hold at least one entry, oldest first."""
    bounds = CreditEntry.objects.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    if bounds["first"] is None:
        return []
    tz = Period("Y", 2000).start.tzinfo
    first = timezone.localtime(bounds["first"], tz).year
    last = timezone.localtime(bounds["last"], tz).year
    return list(range(first, last + 1))


def ranks_refresh(*, period_keys: list[str], full_sync: bool = True) -> int:
    """Recompute the rank columns and unit statistics of these periods, and update live sets.

    With `full_sync` the live sets are reloaded whole from the totals (the periodic run:
    it also drops people who left). Without it (the refresh that follows awards) only the
    totals this refresh re-attached are written to them — the people who earned credits
    since the last refresh, with their totals now, and the people who moved, out of their
    old sets — instead of reloading 200,000 rows a period every few seconds under load.
    """
    periods = [period_from_key(k) for k in period_keys]
    incremental = not full_sync and connection.vendor == "postgresql" and live.enabled()
    reattached: list | None = [] if incremental else None
    with transaction.atomic():
        changed = totals.refresh_ranks(periods, reattached=reattached)
    for period in periods:
        if not live.is_live_period(period):
            continue
        if reattached is not None and live.is_synced(period):
            live.apply(period, [row for row in reattached if row[1] == period.key])
        else:
            live.sync(period)
    return changed


def totals_rebuild(*, year: int) -> totals.RebuildReport:
    """Recompute every total of `year` from the ledger, report the drift fixed, rerank.

    The ledger is the truth: whatever the totals say, afterwards they equal what the
    ledger implies under the year's rules (caps included). Safe to run at any time and
    any number of times; awards made meanwhile wait for it on PostgreSQL.
    """
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError({"year": [_("The year must be between %(min)s and %(max)s.") % {"min": MIN_YEAR, "max": MAX_YEAR}]})
    with transaction.atomic():
        report = totals.rebuild_year(year)
        totals.refresh_ranks(year_periods(year), reattach=not report.ranks_attached)
    for period in year_periods(year):
        # Live sets follow every award; they need reloading only if totals were wrong.
        if live.is_live_period(period) and (report.drift or not live.is_synced(period)):
            live.sync(period)
    if report.drift:
        log.warning("Credit totals of %s drifted from the ledger: %s", year, asdict(report))
    return report


def _schedule_rebuild_from(year: int) -> None:
    """After a rule change: rebuild the years it affects (from `year` to now) once committed."""
    from credits.tasks import rebuild_totals

    current = current_periods()[0].year
    years = [y for y in ledger_years() if year <= y <= current]

    def enqueue() -> None:
        forget_rules()
        for y in years:
            rebuild_totals.delay(year=y)

    transaction.on_commit(enqueue)


# --- Configuration (system admins) --------------------------------------------------------------------


POLICY_FIELDS = (
    "unit_label",
    "course_long_minutes",
    "course_long_points",
    "course_medium_minutes",
    "course_medium_points",
    "course_short_points",
    "attendance_points_per_hour",
    "lecture_multiplier",
    "exam_points",
    "award_points",
)
_POLICY_POINT_FIELDS = {
    "course_long_points", "course_medium_points", "course_short_points",
    "attendance_points_per_hour", "lecture_multiplier", "exam_points", "award_points",
}


@transaction.atomic
def credit_policy_update(*, actor: User | None, **values: object) -> CreditPolicy:
    """Change how causes are priced and what points are called. Future awards only."""
    _require_system_admin(actor)
    unknown = sorted(set(values) - set(POLICY_FIELDS))
    if unknown:
        raise ValidationError({name: [_("Unknown setting.")] for name in unknown})
    policy = CreditPolicy.objects.select_for_update().filter(pk=1).first() or CreditPolicy(pk=1)
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if name in _POLICY_POINT_FIELDS:
            try:
                number = clean_points(value, field=name)
            except ValidationError as exc:
                errors.update(exc.message_dict)
                continue
            if number < 0 or number > 9999:
                errors[name] = [_("Enter a value between 0 and 9999.")]
                continue
            setattr(policy, name, number)
        elif name in ("course_long_minutes", "course_medium_minutes"):
            try:
                minutes = int(str(value))
            except (TypeError, ValueError):
                errors[name] = [_("Enter a whole number of minutes.")]
                continue
            if not 0 <= minutes <= 24 * 60:
                errors[name] = [_("Enter between 0 and 1440 minutes.")]
                continue
            setattr(policy, name, minutes)
        elif name == "unit_label":
            text = str(value or "").strip()
            if not text or len(text) > 10:
                errors[name] = [_("The unit label is 1 to 10 characters, e.g. 学分 or 学时.")]
                continue
            policy.unit_label = text
    if not errors and policy.course_medium_minutes > policy.course_long_minutes:
        errors["course_medium_minutes"] = [
            _("The medium threshold cannot be above the long one (%(long)s minutes).")
            % {"long": policy.course_long_minutes}
        ]
    if errors:
        raise ValidationError(errors)
    policy.updated_at = timezone.now()
    policy.updated_by = actor
    policy.save()
    transaction.on_commit(forget_rules)
    return policy


def _clean_year(year: object, errors: dict[str, list[str]]) -> int | None:
    try:
        value = int(str(year))
    except (TypeError, ValueError):
        errors["year"] = [_("Enter a year such as 2025.")]
        return None
    if not MIN_YEAR <= value <= MAX_YEAR:
        errors["year"] = [_("The year must be between %(min)s and %(max)s.") % {"min": MIN_YEAR, "max": MAX_YEAR}]
        return None
    return value


def _optional_points(value: object, field: str, errors: dict[str, list[str]]) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = clean_points(value, field=field)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        return None
    if number < 0:
        errors[field] = [_("Enter zero or more.")]
        return None
    return number


@transaction.atomic
def source_rule_save(
    *,
    actor: User | None,
    source_kind: str,
    year: int,
    counts_as: str = RequiredOrElective.ELECTIVE,
    cap_percent: Decimal | None = None,
    cap_points: Decimal | None = None,
) -> SourceRule:
    """Set how a source counts from `year` on; caps change totals, so the years are rebuilt."""
    _require_system_admin(actor)
    errors: dict[str, list[str]] = {}
    if not isinstance(source_kind, str) or source_kind not in _SOURCE_KINDS:
        errors["source_kind"] = [_("Unknown source.")]
    year_value = _clean_year(year, errors)
    if counts_as not in RequiredOrElective.values:
        errors["counts_as"] = [_("Choose required or elective.")]
    percent = _optional_points(cap_percent, "cap_percent", errors)
    if percent is not None and percent > 100:
        # xgettext:no-python-format
        errors["cap_percent"] = [_("A cap is at most 100 % of the requirement.")]
    points = _optional_points(cap_points, "cap_points", errors)
    if errors:
        raise ValidationError(errors)
    rule, _created = SourceRule.objects.update_or_create(
        source_kind=source_kind,
        year=year_value,
        defaults={"counts_as": counts_as, "cap_percent": percent, "cap_points": points},
    )
    _schedule_rebuild_from(year_value)
    return rule


@transaction.atomic
def source_rule_delete(*, actor: User | None, rule: SourceRule) -> None:
    _require_system_admin(actor)
    year = rule.year
    SourceRule.objects.filter(pk=rule.pk).delete()
    _schedule_rebuild_from(year)


@transaction.atomic
def award_rule_save(*, actor: User | None, award_code: str, points: Decimal, name: str = "") -> AwardRule:
    """Points for an award type (by the awards app's code). Future awards only."""
    _require_system_admin(actor)
    errors: dict[str, list[str]] = {}
    award_code = (award_code or "").strip()
    if not award_code or len(award_code) > 50:
        errors["award_code"] = [_("Give the award type's code (1 to 50 characters).")]
    value = _optional_points(points, "points", errors)
    if value is None and "points" not in errors:
        errors["points"] = [_("Enter the points for this award.")]
    name = (name or "").strip()
    if len(name) > 100:
        errors["name"] = [_("The name is at most 100 characters.")]
    if errors:
        raise ValidationError(errors)
    rule, _created = AwardRule.objects.update_or_create(
        award_code=award_code, defaults={"points": value, "name": name}
    )
    transaction.on_commit(forget_rules)
    return rule


@transaction.atomic
def award_rule_delete(*, actor: User | None, rule: AwardRule) -> None:
    _require_system_admin(actor)
    AwardRule.objects.filter(pk=rule.pk).delete()
    transaction.on_commit(forget_rules)


@transaction.atomic
def requirement_save(
    *,
    actor: User | None,
    cadre_level: CadreLevel | None,
    year: int,
    points: Decimal,
    required_points: Decimal | None = None,
) -> Requirement:
    """Set the annual requirement of a cadre level (None: everyone else) from `year` on."""
    _require_system_admin(actor)
    errors: dict[str, list[str]] = {}
    year_value = _clean_year(year, errors)
    total = _optional_points(points, "points", errors)
    if total is None and "points" not in errors:
        errors["points"] = [_("Enter the required points per year.")]
    part = _optional_points(required_points, "required_points", errors)
    if total is not None and part is not None and part > total:
        errors["required_points"] = [_("The required part cannot exceed the annual requirement.")]
    if errors:
        raise ValidationError(errors)
    requirement, _created = Requirement.objects.update_or_create(
        cadre_level=cadre_level,
        year=year_value,
        defaults={"points": total, "required_points": part},
    )
    # Percentage caps and on-track targets depend on the requirement.
    _schedule_rebuild_from(year_value)
    return requirement


@transaction.atomic
def requirement_delete(*, actor: User | None, requirement: Requirement) -> None:
    _require_system_admin(actor)
    year = requirement.year
    Requirement.objects.filter(pk=requirement.pk).delete()
    _schedule_rebuild_from(year)


@transaction.atomic
def ranking_policy_save(
    *,
    actor: User | None,
    root: OrgUnit,
    visibility: str,
    top_n: int = 10,
    mask_names: bool = False,
) -> RankingPolicy:
    """Choose what the learners of an organisation (a root unit) see of the rankings."""
    _require_system_admin(actor)
    errors: dict[str, list[str]] = {}
    if root is None or root.depth != 1:
        errors["root"] = [_("Ranking visibility is set per organisation (a top-level unit).")]
    if visibility not in RankingVisibility.values:
        errors["visibility"] = [_("Choose full, top_n, own or off.")]
    try:
        n = int(str(top_n))
    except (TypeError, ValueError):
        n = 0
    if not 1 <= n <= 500:
        errors["top_n"] = [_("N is between 1 and 500.")]
    if errors:
        raise ValidationError(errors)
    policy, _created = RankingPolicy.objects.update_or_create(
        root=root, defaults={"visibility": visibility, "top_n": n, "mask_names": bool(mask_names)}
    )
    return policy


@transaction.atomic
def ranking_policy_delete(*, actor: User | None, policy: RankingPolicy) -> None:
    """Back to the default visibility (top 10 plus own rank)."""
    _require_system_admin(actor)
    RankingPolicy.objects.filter(pk=policy.pk).delete()
