"""Demo catalog of the online courses (settings.DEMO_SEEDERS).

A few hundred courses (300 from 300 staff up; fewer for a tiny demo) with realistic
Chinese titles, categories (修养型 / 知识型 / 技能型, 党性教育, 业务知识), tags, sources
(上级引进 / 市场购买 / 本地制作 / 高校公开课), lessons, required audiences with deadlines,
and for the demo staff: enrolments, lesson progress, completions, ratings with comments,
likes (点赞), recommendations, click statistics for the dynamic management page, and
two pushes (重点课程推送) to the demo learner's unit.

Idempotent: demo courses carry the codes ``DEMO-C0001`` …; when the first exists the
catalog is left alone. Rows are written with bulk_create in batches and counters are
recomputed in SQL at the end, so it scales to 200,000 staff (about 1.5 enrolments per
person). Completions are credited through `credit_award` (the ledger's only door), one
call each, so only up to CREDIT_STAFF_LIMIT staff; above that the credits are skipped
with a note.

Lessons are short PDF documents generated here (a real portal's videos are too big for
a demo); the player's reading clock records their progress like a video's.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal
from typing import TextIO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, F, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from courses import services
from courses.models import (
    Category,
    Course,
    CourseAudience,
    CourseDailyStat,
    CourseEvent,
    CoursePush,
    Enrolment,
    Lesson,
    LessonProgress,
    Like,
    Rating,
    Recommendation,
    Tag,
)
from org.models import CadreLevel, OrgUnit, User

CODE_PREFIX = "DEMO-C"
CREDIT_STAFF_LIMIT = 5_000
BATCH = 5_000
STAFF_CHUNK = 20_000
DEMO_PDF = "courses/lessons/demo/demo-courseware.pdf"

CATEGORIES = [
    ("党性教育", "理想信念、党史党纪与作风建设"),
    ("修养型", "政治修养、道德修养、普通话"),
    ("知识型", "科技知识、专业知识、政策法规"),
    ("技能型", "外语、电脑、公文与沟通技能"),
    ("业务知识", "本岗位业务与案例"),
]

# (category, title, tags) — invented, in the style of a cadre college's catalog.
TOPICS = [
    ("知识型", "全面推进依法治国的重大部署解读", ["依法治国", "政策解读"]),
    ("知识型", "民法典与基层社会治理", ["依法治国", "基层治理"]),
    ("知识型", "乡村振兴战略的实施路径", ["乡村振兴"]),
    ("知识型", "数字政府建设的实践与思考", ["数字政府"]),
    ("知识型", "优化营商环境典型案例分析", ["营商环境", "案例教学"]),
    ("知识型", "生态文明建设与绿色发展", ["生态环保"]),
    ("知识型", "环境保护与可持续发展（高校公开课）", ["生态环保", "公开课"]),
    ("知识型", "城市更新与社区规划", ["基层治理"]),
    ("知识型", "新修订档案法要点解读", ["档案管理", "政策解读"]),
    ("知识型", "信访工作条例学习辅导", ["群众工作", "政策解读"]),
    ("知识型", "安全生产责任制的落实", ["应急管理"]),
    ("知识型", "保密工作基本知识", ["保密"]),
    ("知识型", "财政预算绩效管理入门", ["财政"]),
    ("技能型", "公文写作规范与常见错误", ["公文写作"]),
    ("技能型", "Excel 数据整理实用技巧", ["电脑应用"]),
    ("技能型", "政务新媒体的运营与表达", ["新媒体"]),
    ("技能型", "突发事件应急处置与舆情应对", ["应急管理", "新媒体"]),
    ("技能型", "领导干部调查研究方法", ["调查研究"]),
    ("技能型", "窗口服务礼仪与沟通技巧", ["群众工作"]),
    ("技能型", "职场英语口语一百句", ["外语"]),
    ("技能型", "会议组织与协调实务", ["组织协调"]),
    ("技能型", "统计数据的解读与使用", ["电脑应用"]),
    ("修养型", "心理健康与压力管理", ["心理健康"]),
    ("修养型", "普通话水平提升训练", ["普通话"]),
    ("修养型", "中华优秀传统文化与领导修养", ["传统文化"]),
    ("修养型", "职业道德与公务员行为规范", ["作风建设"]),
    ("党性教育", "廉洁从政与作风建设", ["廉政建设", "作风建设"]),
    ("党性教育", "党史中的群众路线", ["党史", "群众工作"]),
    ("党性教育", "基层党组织建设实务", ["基层党建"]),
    ("党性教育", "新时代党员的初心与担当", ["理想信念"]),
    ("党性教育", "党内法规学习辅导", ["党内法规"]),
    ("业务知识", "基层干部如何与群众打交道", ["群众工作", "基层治理"]),
    ("业务知识", "网格化管理的现场检查要领", ["基层治理"]),
    ("业务知识", "消费维权典型案例复盘", ["案例教学"]),
    ("业务知识", "移民后续扶持政策与实践", ["乡村振兴"]),
    ("业务知识", "社区工作者实务入门", ["基层治理"]),
    ("业务知识", "政府采购流程与风险防控", ["财政", "廉政建设"]),
    ("业务知识", "行政执法程序规范", ["依法治国"]),
]
PARTS = ["", "（上）", "（下）", "专题讲座", "案例教学", "第二讲", "十问十答", "实务精讲"]
SPEAKERS = ["刘春", "杜鹏飞", "王勇", "陈思远", "李慧敏", "张海涛", "赵晓梅", "孙立群", "周文博", "黄雅琴", "何志强", "吴一帆"]
PROVIDERS = {
    Course.Source.IMPORTED: ["中央和国家机关司局级干部选学大讲堂", "省委党校", "世界银行远程教育"],
    Course.Source.PURCHASED: ["华文在线课程", "干部学习网精品课", "知行课堂"],
    Course.Source.IN_HOUSE: ["市干部网络学院", "市委组织部干部教育处", "区委党校"],
    Course.Source.OPEN_COURSE: ["清华大学", "北京大学", "浙江大学", "复旦大学"],
}
LESSON_NAMES = ["导言", "政策背景", "主要内容", "案例分析", "实践要点", "常见问题", "小结与思考"]
COMMENTS = [
    "很实用，正好补上工作中的短板", "讲得清楚，案例贴近基层", "内容有点多，建议分成几讲",
    "干什么学什么，缺什么补什么", "希望多一些互动练习", "手机上看也很方便", "老师讲得生动",
    "适合新入职的同志", "部分内容已过时，建议更新", "收获很大，推荐给同事了",
]


def seed(*, staff_count: int, rng: random.Random, stdout: TextIO) -> None:
    if Course.objects.filter(code=f"{CODE_PREFIX}0001").exists():
        stdout.write("courses: demo catalog already present, left as it is.\n")
        return
    n_courses = 300 if staff_count >= 300 else max(30, staff_count)
    summary = catalog_build(n_courses=n_courses, rng=rng, credit=staff_count <= CREDIT_STAFF_LIMIT)
    stdout.write(
        f"courses: {summary['courses']} courses, {summary['lessons']} lessons, {summary['enrolments']} "
        f"enrolments, {summary['ratings']} ratings, {summary['likes']} likes.\n"
    )
    if staff_count > CREDIT_STAFF_LIMIT:
        stdout.write(f"courses: completions above {CREDIT_STAFF_LIMIT} staff are not credited in the demo.\n")


def _demo_pdf() -> str:
    if not default_storage.exists(DEMO_PDF):
        text = "Demo courseware - online course lesson material"
        stream = f"BT /F1 18 Tf 60 760 Td ({text}) Tj ET"
        objects = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            "/Resources << /Font << /F1 5 0 R >> >> >>",
            f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
        body, offsets = "%PDF-1.4\n", []
        for i, obj in enumerate(objects, start=1):
            offsets.append(len(body))
            body += f"{i} 0 obj\n{obj}\nendobj\n"
        xref = len(body)
        body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n"
        body += "".join(f"{o:010d} 00000 n \n" for o in offsets)
        body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
        default_storage.save(DEMO_PDF, ContentFile(body.encode("ascii")))
    return DEMO_PDF


def _bulk(model, rows: list, batch: int = BATCH) -> list:
    created = []
    for start in range(0, len(rows), batch):
        created += model.objects.bulk_create(rows[start : start + batch])
    return created


@transaction.atomic
def catalog_build(*, n_courses: int, rng: random.Random, credit: bool = True, staff_limit: int | None = None) -> dict:
    """Build `n_courses` demo courses and the demo staff's learning of them."""
    now = timezone.now()
    today = timezone.localdate()
    categories = {}
    for i, (name, description) in enumerate(CATEGORIES):
        categories[name] = Category.objects.get_or_create(name=name, defaults={"description": description, "sort_order": i})[0]
    tag_names = sorted({t for _c, _t, tags in TOPICS for t in tags})
    Tag.objects.bulk_create([Tag(name=n) for n in tag_names], ignore_conflicts=True)
    tags = {t.name: t for t in Tag.objects.filter(name__in=tag_names)}
    pdf = _demo_pdf()

    districts = list(OrgUnit.objects.filter(depth=2).order_by("path").values_list("pk", flat=True)[:20])

    # Courses: each has a latent quality (drives ratings) and popularity (drives enrolments).
    courses, specs = [], []
    for i in range(n_courses):
        category, title, topic_tags = TOPICS[i % len(TOPICS)]
        part = PARTS[(i // len(TOPICS)) % len(PARTS)]
        if i >= len(TOPICS) * len(PARTS):
            part = f"（{i // (len(TOPICS) * len(PARTS)) + 1}）{part}"
        source = rng.choice(list(Course.Source))
        age_days = int(rng.triangular(0, 3 * 365, 120))
        status = Course.Status.ONLINE
        roll = rng.random()
        if roll < 0.10:
            status = Course.Status.OFFLINE
        elif roll < 0.14:
            status = Course.Status.DRAFT
        first_online = None if status == Course.Status.DRAFT else now - dt.timedelta(days=age_days, hours=rng.randint(0, 23))
        length = rng.choice([12, 20, 25, 30, 40, 45, 60, 90])
        speaker = rng.choice(SPEAKERS)
        provider = rng.choice(PROVIDERS[source])
        full_title = f"{title}{part}"
        # One course in five is a district's own (its admins manage it), the rest are city-wide.
        owner = rng.choice(districts) if districts and rng.random() < 0.2 else None
        course = Course(
            owner_unit_id=owner,
            code=f"{CODE_PREFIX}{i + 1:04d}",
            title=full_title,
            summary=f"{speaker}主讲，{provider}提供。{CATEGORIES[[c for c, _ in CATEGORIES].index(category)][1]}。",
            description_html=f"<p>{full_title}。</p><ul><li>主讲：{speaker}</li><li>来源：{provider}</li></ul>",
            category=categories[category],
            source=source,
            provider=provider,
            speaker=speaker,
            length_minutes=length,
            status=status,
            first_online_at=first_online,
            status_changed_at=first_online,
            created_at=(first_online or now) - dt.timedelta(days=3),
            updated_at=first_online or now,
            search_text=" ".join([full_title, speaker, provider, category, *topic_tags, str(Course.Source(source).label)]).lower(),
        )
        courses.append(course)
        specs.append({"quality": rng.uniform(2.4, 4.9), "popularity": 1.0 / (1 + (i % 97)) ** 0.8, "tags": topic_tags, "length": length})
    courses = _bulk(Course, courses)
    Course.tags.through.objects.bulk_create(
        [Course.tags.through(course_id=c.pk, tag_id=tags[t].pk) for c, s in zip(courses, specs, strict=True) for t in s["tags"]],
        ignore_conflicts=True,
    )

    # Lessons: 2–6 short documents per course, their reading times adding up to the length.
    lessons = []
    for course, spec in zip(courses, specs, strict=True):
        count = rng.randint(2, 6)
        seconds = max(60, spec["length"] * 60 // count)
        for position in range(1, count + 1):
            lessons.append(Lesson(
                course=course, position=position, title=f"第{position}讲 {LESSON_NAMES[(position - 1) % len(LESSON_NAMES)]}",
                kind=Lesson.Kind.DOCUMENT, file=pdf, file_kind="pdf", file_name=f"{course.title[:40]}-{position}.pdf",
                file_size=default_storage.size(pdf), duration_seconds=seconds,
            ))
    lessons = _bulk(Lesson, lessons)
    lessons_of: dict[int, list[Lesson]] = defaultdict(list)
    for lesson in lessons:
        lessons_of[lesson.course_id].append(lesson)

    # Lifecycle events for the dynamic management counts.
    events = []
    for course in courses:
        if course.first_online_at:
            events.append(CourseEvent(course=course, action="online", first_time=True, at=course.first_online_at))
        if course.status == Course.Status.OFFLINE:
            off = course.first_online_at + (now - course.first_online_at) * rng.uniform(0.3, 0.95)
            events.append(CourseEvent(course=course, action="offline", at=off))
            Course.objects.filter(pk=course.pk).update(status_changed_at=off)
    _bulk(CourseEvent, events)

    online = [c for c in courses if c.status == Course.Status.ONLINE]
    spec_of = {c.pk: s for c, s in zip(courses, specs, strict=True)}
    # Who can see what: the city-wide courses, plus their own district's.
    district_paths = dict(OrgUnit.objects.filter(pk__in=districts).values_list("path", "pk"))
    unit_district = {
        pk: district_paths.get(path[: 2 * OrgUnit.steplen]) for pk, path in OrgUnit.objects.values_list("pk", "path")
    }
    choices: dict[int | None, tuple[list[Course], list[float]]] = {}
    for district in [None, *districts]:
        pool = [c for c in online if c.owner_unit_id in (None, district)]
        choices[district] = (pool, [spec_of[c.pk]["popularity"] for c in pool])

    # Required audiences: about one course in ten, for a cadre level (and for a district's
    # own course, that district), most with a deadline.
    levels = list(CadreLevel.objects.values_list("pk", flat=True))
    audiences = []
    for course in rng.sample(online, k=min(len(online), max(3, len(online) // 10))):
        audiences.append(CourseAudience(
            course=course, kind="required",
            cadre_level_id=rng.choice(levels) if levels and rng.random() < 0.7 else None,
            unit_id=course.owner_unit_id or (rng.choice(districts) if districts and rng.random() < 0.3 else None),
            deadline=today + dt.timedelta(days=rng.randint(-10, 120)) if rng.random() < 0.8 else None,
        ))
    _bulk(CourseAudience, audiences)

    # Enrolments of the staff: ~1.5 each on average, popular courses more often.
    staff = list(User.objects.filter(is_active=True, is_superuser=False).values_list("pk", "cadre_level_id", "unit_id"))
    if staff_limit is not None:
        staff = staff[:staff_limit]
    # Learning, a chunk of staff at a time, so memory stays flat at 200,000 staff.
    totals = {"enrolments": 0, "ratings": 0, "likes": 0}
    finished: list[Enrolment] = []
    for start in range(0, len(staff), STAFF_CHUNK):
        chunk = [(pk, level, unit_district.get(unit)) for pk, level, unit in staff[start : start + STAFF_CHUNK]]
        done = _learning(chunk, choices, lessons_of, spec_of, rng, now, totals)
        if credit:
            finished += done

    # Click statistics of the last 90 days, by cadre level (what 动态管理 ranks by).
    stats = []
    level_keys = levels or [0]
    for course in online:
        base = spec_of[course.pk]["popularity"] * 60
        for days_ago in range(0, 90, 3):
            day = today - dt.timedelta(days=days_ago)
            if course.first_online_at and day < timezone.localdate(course.first_online_at):
                continue
            for level in rng.sample(level_keys, k=min(2, len(level_keys))):
                clicks = int(rng.expovariate(1 / max(base, 0.5)))
                if clicks:
                    stats.append(CourseDailyStat(course=course, day=day, cadre_level_key=level, clicks=clicks, views=clicks // 2))
    _bulk(CourseDailyStat, stats)

    _recount(courses)
    if credit:
        for enrolment in finished:
            services.completion_credit(enrolment=enrolment)
    _social(online, rng)
    return {"courses": len(courses), "lessons": len(lessons), **totals}


def _learning(staff, choices, lessons_of, spec_of, rng, now, totals) -> list[Enrolment]:
    """Enrolments, progress, ratings and likes of some staff (person, level, district);
    returns the completed enrolments. People only take courses they can see."""
    enrolments = []
    for person_id, level_id, district in staff:
        pool, weights = choices.get(district) or choices[None]
        if not pool:
            continue
        k = min(len(pool), rng.choices([0, 1, 2, 3, 4], weights=[20, 30, 25, 15, 10])[0])
        chosen = {c.pk: c for c in rng.choices(pool, weights=weights, k=k)}.values()
        for course in chosen:
            course_lessons = lessons_of[course.pk]
            started_at = max(course.first_online_at, now - dt.timedelta(days=rng.randint(0, 365)))
            when = min(now - dt.timedelta(minutes=1), started_at + dt.timedelta(hours=rng.randint(0, 200)))
            done = rng.random() < 0.45
            n_done = len(course_lessons) if done else rng.randint(0, len(course_lessons) - 1)
            enrolments.append(Enrolment(
                course=course, person_id=person_id, cadre_level_id=level_id, enrolled_at=started_at,
                last_studied_at=when, lessons_done=n_done, progress_percent=n_done * 100 // len(course_lessons),
                last_lesson=course_lessons[min(n_done, len(course_lessons) - 1)], completed_at=when if done else None,
            ))
    enrolments = _bulk(Enrolment, enrolments)

    progress, finished, ratings, likes = [], [], [], []
    for enrolment in enrolments:
        course = enrolment.course
        course_lessons = lessons_of[course.pk]
        done, n_done, when = enrolment.completed_at is not None, enrolment.lessons_done, enrolment.last_studied_at
        for index, lesson in enumerate(course_lessons[: n_done + (0 if done else 1)]):
            complete = index < n_done
            watched = lesson.duration_seconds if complete else rng.randint(0, lesson.duration_seconds // 2)
            progress.append(LessonProgress(
                enrolment=enrolment, lesson=lesson, person_id=enrolment.person_id, position_seconds=watched,
                watched=[[0, watched]] if watched else [], watched_seconds=watched, started_at=enrolment.enrolled_at,
                last_heartbeat_at=when, completed_at=when if complete else None,
            ))
        if done:
            finished.append(enrolment)
        quality = spec_of[course.pk]["quality"]
        if rng.random() < (0.55 if done else 0.12):
            stars = max(1, min(5, round(rng.gauss(quality, 0.8))))
            ratings.append(Rating(
                course=course, person_id=enrolment.person_id, stars=stars, cadre_level_id=enrolment.cadre_level_id,
                comment=rng.choice(COMMENTS) if rng.random() < 0.35 else "", created_at=when, updated_at=when,
            ))
        if rng.random() < 0.25 + quality / 20:
            likes.append(Like(course=course, person_id=enrolment.person_id, created_at=when))
    _bulk(LessonProgress, progress)
    _bulk(Rating, ratings)
    _bulk(Like, likes)
    totals["enrolments"] += len(enrolments)
    totals["ratings"] += len(ratings)
    totals["likes"] += len(likes)
    return finished


def _recount(courses: list[Course]) -> None:
    """Set every counter of the demo courses from the rows (one UPDATE per counter)."""
    ids = [c.pk for c in courses]

    def count(model, **filters):
        rows = model.objects.filter(course_id=OuterRef("pk"), **filters).values("course_id").annotate(n=Count("pk")).values("n")
        return Coalesce(Subquery(rows[:1]), Value(0), output_field=IntegerField())

    def total(model, field):
        rows = model.objects.filter(course_id=OuterRef("pk")).values("course_id").annotate(n=Sum(field)).values("n")
        return Coalesce(Subquery(rows[:1]), Value(0), output_field=IntegerField())

    demo = Course.objects.filter(pk__in=ids)
    demo.update(lesson_count=count(Lesson), enrolment_count=count(Enrolment))
    demo.update(completion_count=count(Enrolment, completed_at__isnull=False), like_count=count(Like))
    demo.update(rating_count=count(Rating), rating_sum=total(Rating, "stars"))
    demo.update(click_count=total(CourseDailyStat, "clicks"), view_count=total(CourseDailyStat, "views"))
    for course in demo.filter(rating_count__gt=0).only("pk", "rating_sum", "rating_count"):
        Course.objects.filter(pk=course.pk).update(
            rating_avg=(Decimal(course.rating_sum) / course.rating_count).quantize(Decimal("0.01"))
        )
    Course.objects.filter(pk__in=ids).update(updated_at=F("updated_at"))


def _social(online: list[Course], rng: random.Random) -> None:
    """Recommendations to, and pushes for, the demo learner (if the demo accounts exist)."""
    learner = User.objects.filter(employee_no="demo-learner").select_related("unit").first()
    if learner is None or not online:
        return
    colleagues = list(User.objects.filter(unit_id=learner.unit_id, is_active=True).exclude(pk=learner.pk)[:3])
    picks = rng.sample(online, k=min(3, len(online)))
    Recommendation.objects.bulk_create(
        [Recommendation(course=c, sender=s, recipient=learner, note=rng.choice(["这门课很实用，推荐你看看", "余哥，给你推荐一个课件", ""]))
         for c, s in zip(picks, colleagues, strict=False)],
        ignore_conflicts=True,
    )
    if learner.unit_id is None:
        return
    for course in rng.sample(online, k=min(2, len(online))):
        push = CoursePush.objects.create(
            course=course, message="重点课程推送：请结合岗位需要安排学习", show_until=timezone.localdate() + dt.timedelta(days=30)
        )
        push.units.set([learner.unit])
        services.course_push_send(push=push)
