"""Demo data of the micro-class programme (settings.DEMO_SEEDERS).

For every district / county of the demo organisation: venues, this year's annual menu
with people's choices and wishes, declarations (most approved, some rejected, some
awaiting review), a teaching plan, and a year of classes (1–2 a month, from a year ago
to two months ahead) with attendance; the past classes are closed.

Idempotent: a district that already has this year's demo menu is skipped. Rows are
written with bulk_create, and the work per district is bounded (a sample of its people),
so it scales to 200,000 staff. Closed classes credit their attendees and speakers
through `credit_award` (the ledger's only door) — one call per credit, so only up to
CREDIT_STAFF_LIMIT staff; above that the credits are skipped with a note (the credits
app seeds its own ledger at scale).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TextIO

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from org.models import OrgUnit, Role, User
from sessions import selectors
from sessions.models import (
    Attendance,
    Declaration,
    Format,
    Menu,
    MenuTopic,
    PlanItem,
    Session,
    SessionSpeaker,
    Speaker,
    TeachingPlan,
    TopicChoice,
    Track,
    Venue,
    Wish,
)

CREDIT_STAFF_LIMIT = 5_000
SAMPLE_PEOPLE = 300
ATTENDEES_PER_CLASS = (12, 30)

TOPICS = [
    ("业务专家谈业务", "调查研究", "档案数字化加工的常见问题与对策"),
    ("业务专家谈业务", "会办案", "新修订档案法要点解读"),
    ("业务专家谈业务", "公文撰写", "公文写作规范与常见错误"),
    ("业务互帮练能力", "会电脑", "Excel 数据整理小技巧"),
    ("业务互帮练能力", "会服务", "窗口服务礼仪与沟通"),
    ("业务互帮练能力", "会监管", "网格化监管现场检查要领"),
    ("业务小组谈经验", "组织协调", "重点工作推进中的协调经验"),
    ("业务小组谈经验", "会维权", "消费维权案例复盘"),
]
WISHES = ["希望多讲讲实际案例", "想学习新媒体宣传", "希望安排一次现场教学", "想了解数字政府建设", "公文格式再讲一遍"]
REJECT_COMMENTS = ["与本年度已批准课题重复，建议合并讲授", "内容较宽泛，请聚焦一个具体问题后重新申报"]
EXPERTS = [("陈立新", "市档案馆", "研究馆员", "档案信息化"), ("黄海燕", "市委党校", "副教授", "依法行政")]


def seed(*, staff_count: int, rng: random.Random, stdout: TextIO) -> None:
    year = timezone.localdate().year
    tracks = _tracks_ensure()
    districts = list(
        OrgUnit.objects.filter(code__regex=r"^D\d{6}$", depth=2, kind__in=["district", "county"]).order_by("path")
    )
    if not districts:
        stdout.write("lectures: no demo districts found; nothing seeded\n")
        return
    done = set(Menu.objects.filter(unit__in=districts, year=year).values_list("unit_id", flat=True))
    admin = User.objects.filter(is_active=True, grants__role=Role.UNIT_ADMIN).order_by("pk").first()
    credit = staff_count <= CREDIT_STAFF_LIMIT
    made = credited = 0
    for district in districts:
        if district.pk in done:
            continue
        with transaction.atomic():
            sessions, n_credits = _seed_district(district, year=year, tracks=tracks, rng=rng, admin=admin, credit=credit)
        made += sessions
        credited += n_credits
    stdout.write(f"lectures: {made} demo classes in {len(districts) - len(done)} districts, {credited} credits\n")
    if not credit and made:
        stdout.write(
            f"lectures: more than {CREDIT_STAFF_LIMIT:,} staff — classes were closed without calling the credit "
            "service per attendee (the credits demo seeds its own ledger at scale)\n"
        )


def _tracks_ensure() -> dict[str, Track]:
    names = sorted({t for t, _a, _title in TOPICS})
    return {name: Track.objects.get_or_create(name=name, defaults={"sort_order": i * 10})[0] for i, name in enumerate(names)}


def _seed_district(district: OrgUnit, *, year: int, tracks, rng: random.Random, admin: User | None, credit: bool):
    people = list(
        User.objects.filter(is_active=True, unit__path__startswith=district.path)
        .select_related("unit")
        .order_by("pk")[:SAMPLE_PEOPLE]
    )
    if len(people) < 5:
        return 0, 0
    now = timezone.now()
    venues = [
        Venue.objects.get_or_create(unit=district, name=f"{district.name}三楼会议室", defaults={"kind": Venue.Kind.ROOM, "capacity": 60})[0],
        Venue.objects.get_or_create(unit=district, name=f"{district.name}职工食堂", defaults={"kind": Venue.Kind.CANTEEN})[0],
        Venue.objects.get_or_create(unit=district, name="网格监管现场", defaults={"kind": Venue.Kind.ONSITE})[0],
    ]
    # Annual menu, choices and wishes.
    menu = Menu.objects.create(
        unit=district, year=year, title=f"{district.name}{year}年度选学菜单", status=Menu.Status.PUBLISHED,
        published_at=timezone.make_aware(dt.datetime.combine(dt.date(year, 1, 5), dt.time(9, 0))), created_by=admin,
        introduction="按照“干什么、学什么”“缺什么、补什么”的原则自主选择。",
    )
    topics = MenuTopic.objects.bulk_create([
        MenuTopic(menu=menu, track=tracks[t], ability_area=area, title=title, sort_order=i)
        for i, (t, area, title) in enumerate(TOPICS)
    ])
    choices = []
    for person in rng.sample(people, min(len(people), 80)):
        for topic in rng.sample(topics, rng.randint(1, 3)):
            choices.append(TopicChoice(topic=topic, person=person))
    TopicChoice.objects.bulk_create(choices, ignore_conflicts=True)
    Wish.objects.bulk_create([Wish(menu=menu, person=p, text=rng.choice(WISHES)) for p in rng.sample(people, min(len(people), 8))])

    # Declarations: most approved, a few rejected or waiting.
    declarers = rng.sample(people, min(len(people), 14))
    declarations = []
    for i, person in enumerate(declarers):
        topic = topics[i % len(topics)]
        status = Declaration.Status.APPROVED if i < 10 else (Declaration.Status.REJECTED if i < 12 else Declaration.Status.SUBMITTED)
        declarations.append(Declaration(
            declarer=person, unit_id=person.unit_id, year=year, kind=Declaration.Kind.REGULAR if i % 5 else Declaration.Kind.AD_HOC,
            title=topic.title if i < len(topics) else f"{topic.title}（实践篇）", outline="一、问题由来；二、案例分析；三、经验做法。",
            track=topic.track, format=rng.choice(Format.values), menu_topic=topic, status=status,
            review_comment=rng.choice(REJECT_COMMENTS) if status == Declaration.Status.REJECTED else "",
            reviewed_by=admin if status != Declaration.Status.SUBMITTED else None,
            reviewed_at=now if status != Declaration.Status.SUBMITTED else None,
            created_at=timezone.make_aware(dt.datetime.combine(dt.date(year, 1, 10 + i), dt.time(10, 0))),
        ))
    declarations = Declaration.objects.bulk_create(declarations)
    approved = [d for d in declarations if d.status == Declaration.Status.APPROVED]
    existing_speakers = dict(Speaker.objects.filter(person__in=[d.declarer for d in approved]).values_list("person_id", "pk"))
    Speaker.objects.bulk_create([
        Speaker(person=d.declarer, name=d.declarer.name, unit_id=d.declarer.unit_id)
        for d in approved if d.declarer_id not in existing_speakers
    ], ignore_conflicts=True)
    speakers = {s.person_id: s for s in Speaker.objects.filter(person__in=[d.declarer for d in approved])}
    for name, org, title, expertise in EXPERTS:
        Speaker.objects.get_or_create(person=None, name=name, unit=district,
                                      defaults={"organisation": org, "title": title, "expertise": expertise})
    experts = list(Speaker.objects.filter(person__isnull=True, unit=district))

    # Teaching plan: one approved declaration a month.
    plan = TeachingPlan.objects.create(unit=district, year=year, monthly_target=1, created_by=admin)
    items = PlanItem.objects.bulk_create([
        PlanItem(plan=plan, month=(i % 12) + 1, title=d.title, track=d.track, declaration=d,
                 speaker=speakers.get(d.declarer_id), demand=rng.randint(3, 40))
        for i, d in enumerate(approved)
    ])

    # A year of classes: from 12 months ago to 2 months ahead, 1–2 a month.
    sessions = []
    links = []
    month_start = (timezone.localdate().replace(day=1) - dt.timedelta(days=365)).replace(day=1)
    for m in range(15):
        first = (month_start + dt.timedelta(days=32 * m)).replace(day=1)
        for _k in range(rng.choice([1, 1, 2])):
            day = first + dt.timedelta(days=rng.randint(2, 25))
            while day.weekday() >= 5:
                day += dt.timedelta(days=1)
            start = timezone.make_aware(dt.datetime.combine(day, dt.time(16, 30)))
            if abs((start - now).total_seconds()) < 3 * 3600:
                continue
            source = rng.choice(approved)
            speaker = speakers.get(source.declarer_id) if rng.random() < 0.8 or not experts else rng.choice(experts)
            past = start + dt.timedelta(hours=1) < now
            session = Session(
                title=source.title, track=source.track, format=source.format, host_unit=district,
                venue=rng.choice(venues), start=start, end=start + dt.timedelta(hours=1),
                status=Session.Status.CLOSED if past else Session.Status.SCHEDULED,
                closed_at=start + dt.timedelta(hours=2) if past else None, closed_by=admin if past else None,
                created_by=admin, declaration=source, description=source.outline,
            )
            sessions.append(session)
            links.append(speaker)
    sessions = Session.objects.bulk_create(sessions)
    SessionSpeaker.objects.bulk_create([SessionSpeaker(session=s, speaker=sp) for s, sp in zip(sessions, links, strict=True) if sp])
    for item, session in zip(items, [s for s in sessions if s.status == Session.Status.SCHEDULED], strict=False):
        item.session = session
    PlanItem.objects.bulk_update(items, ["session"])

    # Attendance of the past classes.
    rows = []
    for session in sessions:
        if session.status != Session.Status.CLOSED:
            continue
        for person in rng.sample(people, min(len(people), rng.randint(*ATTENDEES_PER_CLASS))):
            roll = rng.random()
            status = "present" if roll < 0.82 else "late" if roll < 0.92 else "excused" if roll < 0.97 else "on_leave"
            attended = status in ("present", "late")
            minute = rng.randint(-10, 4) if status == "present" else rng.randint(6, 18)
            rows.append(Attendance(
                session=session, person=person, unit_id=person.unit_id, status=status,
                method=rng.choice(["qr", "qr", "qr", "code"]) if attended else "admin",
                checked_in_at=session.start + dt.timedelta(minutes=minute) if attended else None,
                marked_by=None if attended else admin, reason="" if attended else "请假", updated_at=session.start,
            ))
    Attendance.objects.bulk_create(rows, ignore_conflicts=True)
    credited = _credit_closed(sessions, admin) if credit else 0
    return len(sessions), credited


def _credit_closed(sessions: list[Session], admin: User | None) -> int:
    """Credit the closed demo classes through the credit service (as closing them would)."""
    from credits import services as credit_services

    count = 0
    for session in sessions:
        if session.status != Session.Status.CLOSED:
            continue
        points = selectors.attendance_points_for(session)
        attended = Attendance.objects.filter(session=session, status__in=Attendance.ATTENDED).select_related("person")
        for row in attended:
            entry = credit_services.credit_award(
                person=row.person, source_kind="attendance", source_ref=f"lectures.session:{session.pk}",
                points=points, idempotency_key=f"attendance:{session.pk}:{row.person_id}",
                occurred_at=session.start, created_by=admin, label=session.title,
            )
            Attendance.objects.filter(pk=row.pk).update(credit_entry_id=entry.pk)
            count += 1
        for link in SessionSpeaker.objects.filter(session=session).filter(~Q(speaker__person=None)).select_related("speaker__person"):
            entry = credit_services.credit_award(
                person=link.speaker.person, source_kind="lecture", source_ref=f"lectures.session:{session.pk}",
                points=selectors.lecture_points_for(session), idempotency_key=f"lecture:{session.pk}:{link.speaker.person_id}",
                occurred_at=session.start, created_by=admin, label=session.title,
            )
            SessionSpeaker.objects.filter(pk=link.pk).update(credit_entry_id=entry.pk)
            count += 1
    return count
