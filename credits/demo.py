"""Demo data of credits (settings.DEMO_SEEDERS): rules, requirements and a two-year ledger.

Idempotent: rules are upserted, and people who already have demo entries get no more.
Entries are written with `bulk_create` in batches and the totals are then rebuilt from
the ledger in one set-based pass per year — the same result as calling `credit_award`
per entry (the hypothesis test proves it), but it scales to 200,000 people.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from credits import selectors, services
from credits.models import (
    AwardRule,
    CreditEntry,
    CreditPolicy,
    RequiredOrElective,
    Requirement,
    SourceKind,
    SourceRule,
)
from credits.periods import current_periods, portal_tz
from credits.rules import forget_rules
from org.models import CadreLevel, User

DEMO_KEY_PREFIX = "demo:"
BATCH = 5_000

# Annual requirements by demo cadre level name (管理办法: each level's yearly credits).
REQUIREMENTS = {"厅局级": (30, 12), "处级": (30, 12), "科级": (24, 10), "一般干部": (24, 10)}
DEFAULT_REQUIREMENT = (24, 10)
AVERAGE_POINTS_PER_ENTRY = 0.85

COURSES = (
    ("十八届四中全会关于全面推进依法治国的重大部署", 48),
    ("环境保护与可持续发展", 95),
    ("基层干部如何与群众打交道", 32),
    ("公文写作规范与技巧", 40),
    ("档案数字化管理实务", 26),
    ("新时代领导干部的法治思维", 55),
    ("政务信息安全基础", 18),
    ("突发事件应对与舆情处置", 45),
    ("廉洁从政教育专题", 12),
    ("数字政府建设案例解读", 36),
    ("优化营商环境政策解读", 28),
    ("乡村振兴战略与实践", 60),
)
CLASSES = (
    "下午微课堂：档案整理业务规范",
    "下午微课堂：业务专家谈业务",
    "下午微课堂：业务互帮练能力",
    "下午微课堂：业务小组谈经验",
    "下午微课堂：政务服务礼仪",
    "下午微课堂：Excel数据处理技巧",
)
AWARDS = (("excellent_learner", "优秀学员", Decimal("2")), ("excellent_lecturer", "年度优秀教员", Decimal("3")))


def seed(*, staff_count: int, rng: random.Random, stdout: TextIO) -> None:
    """Rules, requirements per cadre level, and a few dozen entries per person over two years."""
    this_year = current_periods()[0].year
    _rules_ensure(this_year - 1)
    people = list(
        User.objects.filter(is_active=True, unit__isnull=False)
        .exclude(pk__in=CreditEntry.objects.filter(idempotency_key__startswith=DEMO_KEY_PREFIX).values("person_id"))
        .values_list("pk", "unit_id", "cadre_level_id")
        .order_by("pk")
    )
    if not people:
        stdout.write("credits: demo ledger already present\n")
        return
    admin_id = (
        User.objects.filter(is_active=True, grants__role="unit_admin").values_list("pk", flat=True).first()
    )
    written = 0
    batch: list[CreditEntry] = []
    now = timezone.now()
    required = _required_by_level()
    for person_id, unit_id, level_id in people:
        target = required.get(level_id, DEFAULT_REQUIREMENT[0])
        for entry in _entries_for(person_id, unit_id, admin_id, rng, now, this_year, target):
            batch.append(entry)
            if len(batch) >= BATCH:
                written += _flush(batch)
    written += _flush(batch)
    for year in (this_year - 1, this_year):
        services.totals_rebuild(year=year)
    stdout.write(f"credits: {written} demo ledger entries for {len(people)} people; totals rebuilt\n")


def _required_by_level() -> dict[int | None, int]:
    names = dict(CadreLevel.objects.values_list("pk", "name"))
    return {pk: REQUIREMENTS.get(name, DEFAULT_REQUIREMENT)[0] for pk, name in names.items()}


def _flush(batch: list[CreditEntry]) -> int:
    if not batch:
        return 0
    with transaction.atomic():
        CreditEntry.objects.bulk_create(batch, batch_size=BATCH, ignore_conflicts=True)
    count = len(batch)
    batch.clear()
    return count


@transaction.atomic
def _rules_ensure(first_year: int) -> None:
    """Policy, sources (courses capped at 60 % of the requirement), awards, requirements."""
    CreditPolicy.objects.get_or_create(pk=1)
    for kind, counts_as, cap in (
        (SourceKind.COURSE, RequiredOrElective.ELECTIVE, Decimal("60")),
        (SourceKind.ATTENDANCE, RequiredOrElective.REQUIRED, None),
        (SourceKind.LECTURE, RequiredOrElective.ELECTIVE, None),
        (SourceKind.EXAM, RequiredOrElective.REQUIRED, None),
    ):
        SourceRule.objects.get_or_create(
            source_kind=kind, year=first_year, defaults={"counts_as": counts_as, "cap_percent": cap}
        )
    for code, name, points in AWARDS:
        AwardRule.objects.get_or_create(award_code=code, defaults={"name": name, "points": points})
    levels = {level.name: level for level in CadreLevel.objects.all()}
    for name, (points, required) in REQUIREMENTS.items():
        if name in levels:
            Requirement.objects.get_or_create(
                cadre_level=levels[name], year=first_year,
                defaults={"points": Decimal(points), "required_points": Decimal(required)},
            )
    if not Requirement.objects.filter(cadre_level__isnull=True, year=first_year).exists():
        Requirement.objects.create(
            cadre_level=None, year=first_year,
            points=Decimal(DEFAULT_REQUIREMENT[0]), required_points=Decimal(DEFAULT_REQUIREMENT[1]),
        )
    transaction.on_commit(forget_rules)


def _moment(rng: random.Random, year: int, now: datetime) -> datetime:
    """A working-hours moment of `year` (Beijing time), not after now."""
    tz = portal_tz()
    start = datetime(year, 1, 1, tzinfo=tz)
    end = min(datetime(year + 1, 1, 1, tzinfo=tz), now)
    days = max((end - start).days, 1)
    day = start + timedelta(days=rng.randrange(days))
    moment = datetime.combine(day.date(), time(rng.randint(8, 17), rng.randrange(60)), tzinfo=tz)
    return min(moment, now - timedelta(minutes=1))


def _entries_for(person_id, unit_id, admin_id, rng: random.Random, now: datetime, this_year: int, target: int):
    """About a year's requirement of causes last year and the share of it due so far this
    year, times a diligence that differs per person: most are on track, some are not."""
    diligence = rng.choice((0.6, 0.85, 1.0, 1.05, 1.1, 1.2, 1.35))
    per_year = target * diligence / AVERAGE_POINTS_PER_ENTRY
    elapsed = (now - datetime(this_year, 1, 1, tzinfo=portal_tz())).days / 365
    counts = {this_year - 1: round(per_year * rng.uniform(0.9, 1.1)), this_year: round(per_year * elapsed)}
    n = 0
    for year, count in counts.items():
        for _ in range(count):
            n += 1
            moment = _moment(rng, year, now)
            roll = rng.random()
            if roll < 0.5:
                title, minutes = rng.choice(COURSES)
                kind, points, label = SourceKind.COURSE, selectors.course_points(minutes=minutes), f"课程：《{title}》"
            elif roll < 0.8:
                kind, points, label = SourceKind.ATTENDANCE, Decimal("1.00"), rng.choice(CLASSES)
            elif roll < 0.95:
                kind, points, label = SourceKind.EXAM, Decimal("1.00"), f"全员法制网上月考（{moment:%Y年%m月}）"
            elif roll < 0.985:
                kind, points, label = SourceKind.LECTURE, Decimal("2.00"), "主讲：" + rng.choice(CLASSES)
            else:
                _code, name, points = rng.choice(AWARDS)
                kind, label = SourceKind.AWARD, f"{name}（{year - 1}年度）"
            yield CreditEntry(
                person_id=person_id,
                unit_id=unit_id,
                source_kind=kind,
                source_ref=f"demo:{kind}:{n}",
                label=label,
                points=points,
                occurred_at=moment,
                created_at=now,
                created_by_id=None,
                reason="",
                idempotency_key=f"{DEMO_KEY_PREFIX}{person_id}:{n}",
            )
    if admin_id and rng.random() < 0.03:
        yield CreditEntry(
            person_id=person_id,
            unit_id=unit_id,
            source_kind=SourceKind.ADJUSTMENT,
            source_ref="demo:adjustment",
            points=Decimal("1.00"),
            occurred_at=_moment(rng, this_year, now),
            created_at=now,
            created_by_id=admin_id,
            reason="补录线下集中培训学时",
            idempotency_key=f"{DEMO_KEY_PREFIX}{person_id}:adj",
        )
