"""Demo data of evaluations (settings.DEMO_SEEDERS): survey answers for the demo classes,
lecturers' ratings of learners, a legal-knowledge question bank, a few monthly exams
(全员法制网上月考) with attempts, last year's appraisal grades, and awards.

Idempotent: each part is skipped where it already exists (a class with a survey, the
bank's questions by text, an exam by title, a person's grade for the year, a year
that already has confirmed demo awards). Rows are written with bulk_create, and the
work is bounded (classes come from the micro-class demo; exam takers and appraisal
grades are samples), so it scales to 200,000 staff. Survey answers are written in bulk
with the same anonymity as the service: no person, a date only, random keys.
Credits (exam passes, confirmed awards) go through `credit_award`, a bounded number.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal
from typing import TextIO

from django.db import transaction
from django.utils import timezone, translation

from evaluations import selectors, services
from evaluations.models import (
    AppraisalGrade,
    Attempt,
    AttemptQuestion,
    Award,
    AwardRule,
    Choice,
    Exam,
    ParticipationRating,
    Question,
    QuestionTag,
    Survey,
    SurveyAnswer,
    SurveyRespondent,
    SurveyResponse,
)
from org.models import OrgUnit, User
from sessions import selectors as session_selectors
from sessions.models import Session

DEMO_UNIT_RE = r"^D\d{6}$"
EXAM_TAKERS = 150
APPRAISALS = 600
EXAM_TITLE = "全员法制网上月考（{year}年{month}月）"

# (tag, kind, question, options, right option indexes, explanation)
QUESTIONS = [
    ("宪法", "single", "我国的根本制度是什么？", ["社会主义制度", "人民代表大会制度", "民族区域自治制度", "基层群众自治制度"], [0],
     "宪法第一条：社会主义制度是中华人民共和国的根本制度。"),
    ("宪法", "single", "全国人民代表大会每届任期几年？", ["三年", "四年", "五年", "六年"], [2], "宪法第六十条。"),
    ("宪法", "true_false", "宪法是国家的根本法，具有最高的法律效力。", ["正确", "错误"], [0], "宪法序言。"),
    ("宪法", "multiple", "下列属于公民基本权利的有哪些？", ["选举权和被选举权", "言论自由", "受教育的权利", "纳税"], [0, 1, 2],
     "纳税是公民的基本义务。"),
    ("宪法", "single", "国家宪法日是每年的哪一天？", ["3月15日", "10月1日", "12月4日", "7月1日"], [2], "2014年设立。"),
    ("行政许可法", "single", "行政许可的实施机关应当在受理申请之日起多少日内作出决定？", ["十日", "十五日", "二十日", "三十日"], [2],
     "行政许可法第四十二条。"),
    ("行政许可法", "multiple", "设定和实施行政许可应当遵循的原则包括：", ["公开", "公平", "公正", "非歧视"], [0, 1, 2, 3],
     "行政许可法第五条。"),
    ("行政许可法", "true_false", "行政许可一律不得收取费用。", ["正确", "错误"], [1], "法律、行政法规另有规定的，依照其规定。"),
    ("行政许可法", "single", "申请人申请行政许可，应当如实向行政机关提交有关材料，并对其什么负责？",
     ["真实性", "完整性", "合法性", "及时性"], [0], "行政许可法第三十一条。"),
    ("行政处罚法", "single", "违法行为在几年内未被发现的，不再给予行政处罚（法律另有规定的除外）？", ["一年", "二年", "三年", "五年"], [1],
     "行政处罚法第三十六条。"),
    ("行政处罚法", "multiple", "行政处罚的种类包括：", ["警告、通报批评", "罚款、没收违法所得", "暂扣许可证件", "行政拘留"],
     [0, 1, 2, 3], "行政处罚法第九条。"),
    ("行政处罚法", "true_false", "对当事人的同一个违法行为，不得给予两次以上罚款的行政处罚。", ["正确", "错误"], [0], "一事不再罚。"),
    ("行政处罚法", "single", "当事人要求听证的，应当在行政机关告知后几日内提出？", ["三日", "五日", "七日", "十日"], [1],
     "行政处罚法第六十四条。"),
    ("档案法", "single", "国家档案馆的档案，一般应当自形成之日起满多少年向社会开放？", ["十五年", "二十年", "二十五年", "三十年"], [2],
     "档案法第二十七条。"),
    ("档案法", "true_false", "任何单位和个人都有保护档案的义务。", ["正确", "错误"], [0], "档案法第五条。"),
    ("档案法", "multiple", "下列行为中，属于档案法禁止的有：", ["损毁、丢失属于国家所有的档案", "擅自提供、抄录档案", "涂改、伪造档案",
                                                         "按规定移交档案"], [0, 1, 2], "档案法第四十八条。"),
    ("档案法", "single", "档案工作实行什么原则？", ["统一领导、分级管理", "集中管理、分散保存", "谁形成谁保管", "属地管理"], [0],
     "档案法第八条。"),
    ("保密法", "single", "国家秘密的密级分为：", ["绝密、机密、秘密", "绝密、机密、内部", "机密、秘密、内部", "核心、重要、一般"], [0],
     "保守国家秘密法第十三条。"),
    ("保密法", "true_false", "在互联网及其他公共信息网络中传递国家秘密是允许的，只要进行了加密。", ["正确", "错误"], [1],
     "严禁通过互联网传递国家秘密。"),
    ("保密法", "multiple", "涉密人员应当遵守的保密要求有：", ["严守保密纪律", "离岗离职实行脱密期管理", "出境须经批准", "可在个人微信讨论工作秘密"],
     [0, 1, 2], "保守国家秘密法第四十四条、第四十五条。"),
    ("公务员法", "single", "公务员的年度考核结果分为哪几个等次？", ["优秀、称职、基本称职、不称职", "优秀、良好、合格、不合格", "A、B、C、D",
                                                     "好、较好、一般、差"], [0], "公务员法第三十七条。"),
    ("公务员法", "true_false", "公务员应当忠于宪法，模范遵守、自觉维护宪法和法律。", ["正确", "错误"], [0], "公务员法第十四条。"),
    ("公务员法", "single", "公务员培训的种类不包括：", ["初任培训", "任职培训", "专门业务培训", "学历培训"], [3], "公务员法第六十七条。"),
    ("民法典", "single", "完全民事行为能力人的年龄起点是：", ["十六周岁", "十八周岁", "二十周岁", "二十二周岁"], [1], "民法典第十七条、第十八条。"),
    ("民法典", "true_false", "民事主体从事民事活动，应当遵循诚信原则。", ["正确", "错误"], [0], "民法典第七条。"),
]
COMMENTS = ["案例很贴近工作，收获很大", "建议多留一些互动交流时间", "课件内容充实，讲解清楚", "希望下次能结合现场实际演示",
            "时间安排稍紧", "讲得很实用，学以致用", "建议提前发放课件", "很有启发"]
NOTES = ["发言积极", "提问有深度", "课堂讨论参与充分", "分享了本岗位经验"]


def seed(*, staff_count: int, rng: random.Random, stdout: TextIO) -> None:
    root = OrgUnit.objects.filter(code__regex=DEMO_UNIT_RE, depth=1).order_by("path").first()
    if root is None:
        stdout.write("evaluations: no demo organisation found; nothing seeded\n")
        return
    with translation.override("zh-hans"):
        surveys = _surveys(rng)
        ratings = _ratings()
        questions = _question_bank(root)
        exams, attempts = _exams(root, rng)
        grades = _appraisals(rng)
        confirmed = _awards(rng)
    stdout.write(
        f"evaluations: {surveys} surveys answered, {ratings} participation ratings, {questions} questions, "
        f"{exams} monthly exams with {attempts} attempts, {grades} appraisal grades, {confirmed} awards confirmed\n"
    )


def _demo_classes():
    return Session.objects.filter(host_unit__code__regex=DEMO_UNIT_RE, status=Session.Status.CLOSED,
                                  closed_at__isnull=False)


def _surveys(rng: random.Random) -> int:
    """Open and answer the survey of every closed demo class that has none yet. Classes still
    inside their window keep a share of attendees who have not answered (reminders, pending)."""
    now = timezone.now()
    done = 0
    for session in _demo_classes().filter(survey__isnull=True).order_by("start", "pk").iterator(chunk_size=200):
        with transaction.atomic():
            survey = services.survey_open(session=session, now=now, notify=False)
            speakers = set(session.speakers.exclude(person=None).values_list("person_id", flat=True))
            people = [p for p in session_selectors.attendees_of(session).values_list("pk", flat=True) if p not in speakers]
            share = 0.55 if survey.is_open(now) else rng.uniform(0.6, 0.95)
            people = [p for p in people if rng.random() < share]
            questions = list(survey.questions.all())
            quality = rng.uniform(0.55, 0.97)  # how good this class was: the chance of a 4 or 5
            day = timezone.localdate(min(now, session.closed_at + dt.timedelta(days=rng.randint(0, 2))))
            responses, answers = [], []
            for _person in people:
                response = SurveyResponse(id=uuid.uuid4(), survey=survey, submitted_on=day,
                                          comment=rng.choice(COMMENTS) if rng.random() < 0.3 else "")
                responses.append(response)
                overall = rng.choice([4, 5, 5]) if rng.random() < quality else rng.choice([2, 3, 3])
                for q in questions:
                    value = overall if q.is_overall else max(1, min(5, overall + rng.choice([-1, 0, 0, 1])))
                    answers.append(SurveyAnswer(id=uuid.uuid4(), response=response, question=q, value=value))
            rng.shuffle(responses)  # inserted in no particular order
            SurveyRespondent.objects.bulk_create([SurveyRespondent(survey=survey, person_id=p) for p in people])
            SurveyResponse.objects.bulk_create(responses)
            SurveyAnswer.objects.bulk_create(answers)
            Survey.objects.filter(pk=survey.pk).update(response_count=len(responses))
        done += 1
    return done


def _ratings() -> int:
    """Speakers rate some attendees of about half of the closed demo classes."""
    rated = set(ParticipationRating.objects.values_list("session_id", flat=True).distinct())
    rows = []
    for session in _demo_classes().exclude(pk__in=rated).order_by("pk").iterator(chunk_size=200):
        rng = random.Random(f"evaluations:ratings:{session.pk}")  # the same choice on every run
        if rng.random() < 0.5:
            continue
        raters = list(session.speakers.exclude(person=None).values_list("person_id", flat=True))
        if not raters:
            continue
        for pid in session_selectors.attendees_of(session).exclude(pk__in=raters).values_list("pk", flat=True):
            if rng.random() < 0.4:
                rows.append(ParticipationRating(
                    session=session, person_id=pid, rater_id=raters[0], score=rng.choice([3, 4, 4, 5, 5]),
                    note=rng.choice(NOTES) if rng.random() < 0.3 else "", updated_at=session.closed_at,
                ))
    ParticipationRating.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _question_bank(root: OrgUnit) -> int:
    existing = set(Question.objects.filter(unit=root).values_list("text", flat=True))
    missing = [q for q in QUESTIONS if q[2] not in existing]
    if not missing:
        return 0
    with transaction.atomic():
        tags = {}
        for name in {q[0] for q in missing}:
            tags[name], _created = QuestionTag.objects.get_or_create(name=name)
        created = Question.objects.bulk_create([
            Question(unit=root, kind=kind, text=text, explanation=explanation)
            for _tag, kind, text, _options, _right, explanation in missing
        ])
        created = {q.text: q for q in Question.objects.filter(unit=root, text__in=[q[2] for q in missing])}
        Choice.objects.bulk_create([
            Choice(question=created[text], text=option, is_correct=i in right, sort_order=i)
            for _tag, _kind, text, options, right, _e in missing
            for i, option in enumerate(options)
        ])
        through = Question.tags.through
        through.objects.bulk_create([
            through(question_id=created[text].pk, questiontag_id=tags[tag].pk) for tag, _k, text, *_rest in missing
        ])
    return len(missing)


def _month_starts(count: int) -> list[dt.date]:
    first = timezone.localdate().replace(day=1)
    months = [first]
    for _ in range(count - 1):
        months.append((months[-1] - dt.timedelta(days=1)).replace(day=1))
    return list(reversed(months))


def _exams(root: OrgUnit, rng: random.Random) -> tuple[int, int]:
    """The last three months' monthly exams (closed, with attempts) and this month's (open)."""
    now = timezone.now()
    staff = list(
        User.objects.filter(employee_no__regex=r"^D\d{7}$", is_active=True, unit__isnull=False)
        .order_by("pk").values_list("pk", flat=True)[:5000]
    )
    learner = User.objects.filter(employee_no="demo-learner", is_active=True).first()
    # The same people sit most months (so the monthly-exam part of learner awards means something).
    cohort = random.Random("evaluations:exam-cohort").sample(staff, min(len(staff), EXAM_TAKERS))
    made = attempts = 0
    for month in _month_starts(4):
        title = EXAM_TITLE.format(year=month.year, month=month.month)
        if Exam.objects.filter(title=title, unit=root).exists():
            continue
        opens = timezone.make_aware(dt.datetime.combine(month, dt.time(9, 0)))
        closes = timezone.make_aware(dt.datetime.combine(month.replace(day=25), dt.time(18, 0)))
        current = month == timezone.localdate().replace(day=1)
        if current:
            closes = max(closes, now + dt.timedelta(days=7))
        with transaction.atomic():
            exam = Exam.objects.create(
                title=title, unit=root, question_count=10, time_limit_minutes=30, opens_at=opens, closes_at=closes,
                attempts_allowed=2, pass_percent=60, counts_for_awards=True, status=Exam.Status.PUBLISHED,
                description="以考促学，全员参加。每月一次，每次随机抽取10题，限时30分钟。",
            )
            made += 1
            if current:
                continue  # open now: left for people to sit
            takers = [pid for pid in cohort if rng.random() < 0.85]
            if learner is not None:
                takers.append(learner.pk)
            attempts += _sit(exam, takers, rng)
    return made, attempts


def _sit(exam: Exam, takers: list[int], rng: random.Random) -> int:
    """Finished attempts of past demo exams, graded like the service grades them; a pass is
    credited through `credit_award` (once per exam and person)."""
    from credits import services as credit_services

    pool = list(selectors.question_pool(exam).values_list("pk", flat=True))
    if len(pool) < exam.question_count:
        return 0
    choices: dict[int, list[tuple[int, bool]]] = {}
    for qid, cid, right in Choice.objects.filter(question_id__in=pool).values_list("question_id", "pk", "is_correct"):
        choices.setdefault(qid, []).append((cid, right))
    units = dict(User.objects.filter(pk__in=takers).values_list("pk", "unit_id"))
    people = User.objects.in_bulk(takers)
    count = 0
    for pid in takers:
        skill = rng.uniform(0.4, 0.98)
        started = exam.opens_at + dt.timedelta(days=rng.randint(0, 20), minutes=rng.randint(0, 600))
        drawn = rng.sample(pool, exam.question_count)
        items, right = [], 0
        for position, qid in enumerate(drawn, start=1):
            order = [cid for cid, _r in choices[qid]]
            rng.shuffle(order)
            correct = sorted(cid for cid, r in choices[qid] if r)
            wrong = [c for c in order if c not in correct]
            selected = correct if rng.random() < skill or not wrong else [wrong[0]]
            ok = selected == correct
            right += ok
            items.append((qid, position, order, selected, ok))
        percent = (Decimal(right) * 100 / Decimal(len(drawn))).quantize(Decimal("0.01"))
        attempt = Attempt.objects.create(
            exam=exam, person_id=pid, unit_id=units.get(pid), number=1, started_at=started,
            deadline=started + dt.timedelta(minutes=exam.time_limit_minutes),
            submitted_at=started + dt.timedelta(minutes=rng.randint(8, 29)), status=Attempt.Status.SUBMITTED,
            correct=right, total=len(drawn), percent=percent, passed=percent >= exam.pass_percent,
        )
        AttemptQuestion.objects.bulk_create([
            AttemptQuestion(attempt=attempt, question_id=qid, position=pos, choice_order=order, selected=sel, is_correct=ok)
            for qid, pos, order, sel, ok in items
        ])
        if attempt.passed:
            from credits import selectors as credit_selectors

            entry = credit_services.credit_award(
                person=people[pid], source_kind="exam", source_ref=f"evaluations.exam:{exam.pk}",
                points=credit_selectors.exam_points(), idempotency_key=f"exam:{exam.pk}:{pid}",
                occurred_at=attempt.submitted_at, label=exam.title,
            )
            Attempt.objects.filter(pk=attempt.pk).update(credit_entry_id=entry.pk)
        count += 1
    return count


def _appraisals(rng: random.Random) -> int:
    """Appraisal grades of last year and (as if already imported) this year, for a sample of
    the people who took part in classes."""
    grades = ["excellent"] * 2 + ["competent"] * 7 + ["basic"]
    made = 0
    for year in (timezone.localdate().year - 1, timezone.localdate().year):
        have = set(AppraisalGrade.objects.filter(year=year).values_list("person_id", flat=True))
        people = list(
            User.objects.filter(lecture_attendance__session__in=_demo_classes(), is_active=True)
            .exclude(pk__in=have).values_list("pk", flat=True).distinct().order_by("pk")[:APPRAISALS]
        )
        AppraisalGrade.objects.bulk_create(
            [AppraisalGrade(person_id=pid, year=year, grade=rng.choice(grades)) for pid in people],
            ignore_conflicts=True,
        )
        made += len(people)
    return made


def _awards(rng: random.Random) -> int:
    """Compute last year's and this year's nominations and confirm the best of each year
    (a year that already has confirmed awards is left as it is)."""
    actor = User.objects.filter(employee_no="demo-sysadmin", is_superuser=True, is_active=True).first()
    picks = {AwardRule.EXCELLENT_LECTURER: 6, AwardRule.EXCELLENT_COURSEWARE: 2, AwardRule.YEAR_LECTURERS: 1,
             AwardRule.LEARNER_SCORE: 4}
    confirmed = 0
    today = timezone.localdate()
    for year in (today.year - 1, today.year):
        services.nominations_compute(year=year)
        if actor is None or Award.objects.filter(year=year, status=Award.Status.CONFIRMED).exists():
            continue
        for award_type in selectors.award_types_active():
            nominations = Award.objects.filter(award_type=award_type, year=year, status=Award.Status.NOMINATED)
            for award in nominations.order_by("-score", "pk")[: picks.get(award_type.rule, 0)]:
                services.award_confirm(actor=actor, award=award, citation="经单位研究，予以表彰。")
                confirmed += 1
    return confirmed
