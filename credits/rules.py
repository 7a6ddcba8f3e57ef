"""The credit rules of one year as a plain, cached snapshot.

Every award needs the caps of the person's year and every summary needs the
requirement, so the rules are read once per year and kept for a few seconds per
process (`CREDITS_RULES_CACHE_SECONDS`). A rule change clears this process's copy at
once; other processes pick it up within the TTL, and the totals rebuild that every
rule change enqueues recomputes the totals with the new rules anyway.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from credits.models import (
    AwardRule,
    CreditPolicy,
    RequiredOrElective,
    Requirement,
    SourceKind,
    SourceRule,
)

CENT = Decimal("0.01")

# What a source counts as when no rule says otherwise: class attendance and exams are
# the organised (必修) part of training; the rest is elective (选修).
DEFAULT_COUNTS_AS = {
    SourceKind.COURSE: RequiredOrElective.ELECTIVE,
    SourceKind.ATTENDANCE: RequiredOrElective.REQUIRED,
    SourceKind.LECTURE: RequiredOrElective.ELECTIVE,
    SourceKind.EXAM: RequiredOrElective.REQUIRED,
    SourceKind.AWARD: RequiredOrElective.ELECTIVE,
    SourceKind.ADJUSTMENT: RequiredOrElective.ELECTIVE,
}


def q2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class RequirementValue:
    points: Decimal
    required_points: Decimal | None


@dataclass(frozen=True)
class SourceRuleValue:
    counts_as: str
    cap_percent: Decimal | None = None
    cap_points: Decimal | None = None


@dataclass(frozen=True)
class Rules:
    """Everything that prices causes and judges progress in one year."""

    year: int
    policy: CreditPolicy
    sources: dict[str, SourceRuleValue]
    requirements: dict[int | None, RequirementValue]
    award_points: dict[str, Decimal] = field(default_factory=dict)
    # caps_for_level per cadre level, filled on first use (every award asks for it).
    _caps: dict[int | None, dict[str, Decimal | None]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def unit_label(self) -> str:
        return self.policy.unit_label

    def requirement_for(self, cadre_level_id: int | None) -> RequirementValue | None:
        """The level's own requirement, else the default one (cadre level NULL), else None."""
        if cadre_level_id is not None and cadre_level_id in self.requirements:
            return self.requirements[cadre_level_id]
        return self.requirements.get(None)

    def cap_for(self, source_kind: str, cadre_level_id: int | None) -> Decimal | None:
        """Most points of `source_kind` that count in this person's year (None: no cap)."""
        rule = self.sources[source_kind]
        caps: list[Decimal] = []
        if rule.cap_points is not None:
            caps.append(rule.cap_points)
        if rule.cap_percent is not None:
            requirement = self.requirement_for(cadre_level_id)
            if requirement is not None:
                caps.append(q2(requirement.points * rule.cap_percent / 100))
        return min(caps) if caps else None

    def caps_for_level(self, cadre_level_id: int | None) -> dict[str, Decimal | None]:
        """The cap of every source for a person of this level (a copy: callers may keep it)."""
        caps = self._caps.get(cadre_level_id)
        if caps is None:
            caps = {kind: self.cap_for(kind, cadre_level_id) for kind in SourceKind.values}
            self._caps[cadre_level_id] = caps
        return dict(caps)

    @property
    def has_caps(self) -> bool:
        return any(r.cap_points is not None or r.cap_percent is not None for r in self.sources.values())

    def capped_kinds(self) -> list[str]:
        return [
            kind
            for kind, r in self.sources.items()
            if r.cap_points is not None or r.cap_percent is not None
        ]

    @property
    def distinguishes_required(self) -> bool:
        return any(r.required_points is not None for r in self.requirements.values())


_lock = threading.Lock()
_cache: dict[int, tuple[float, Rules]] = {}


def current_policy() -> CreditPolicy:
    """The policy row, or an unsaved one holding the defaults when none was configured."""
    return CreditPolicy.objects.filter(pk=1).first() or CreditPolicy(pk=1)


def _load(year: int) -> Rules:
    sources: dict[str, SourceRuleValue] = {
        kind: SourceRuleValue(counts_as=DEFAULT_COUNTS_AS[kind]) for kind in SourceKind.values
    }
    # The newest row at or before `year` wins, per source.
    for rule in SourceRule.objects.filter(year__lte=year).order_by("year"):
        sources[rule.source_kind] = SourceRuleValue(
            counts_as=rule.counts_as, cap_percent=rule.cap_percent, cap_points=rule.cap_points
        )
    requirements: dict[int | None, RequirementValue] = {}
    for req in Requirement.objects.filter(year__lte=year).order_by("year"):
        requirements[req.cadre_level_id] = RequirementValue(req.points, req.required_points)
    awards = dict(AwardRule.objects.values_list("award_code", "points"))
    return Rules(
        year=year,
        policy=current_policy(),
        sources=sources,
        requirements=requirements,
        award_points=awards,
    )


def rules_for_year(year: int) -> Rules:
    ttl = float(getattr(settings, "CREDITS_RULES_CACHE_SECONDS", 10))
    now = time.monotonic()
    with _lock:
        hit = _cache.get(year)
        if hit is not None and hit[0] > now:
            return hit[1]
    rules = _load(year)
    with _lock:
        _cache[year] = (now + ttl, rules)
    return rules


def forget_rules() -> None:
    with _lock:
        _cache.clear()
