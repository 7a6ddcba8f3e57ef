"""Scoped reads of evaluations: surveys and their results, lecturer statistics, awards,
the honours board, exams, attempts and exam results.

Who sees what:

* A survey form: the class's attendees (present or late), except its speakers, while
  the survey is open. Nobody — lecturer, admin or system admin — can read who answered
  what: responses carry no person (see `SurveyResponse`), results are aggregates shown
  only once the survey closed with at least `min_answers` responses, and comments come
  in the order of their random keys, never in the order they were written.
* Class results: the class's speakers and everyone whose view scope covers the host
  unit. Lecturer statistics: the lecturer, and people whose view scope covers them.
* Awards: admins and managers whose view scope covers the award's unit; the honours
  board shows confirmed awards (see `honours_visible_to`).
* Exams: published exams of the person's unit and its ancestors (the audience), plus
  every exam in the viewer's view scope. The question bank (it holds the answers) is
  for the admins who manage its unit.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Avg, Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from evaluations.models import (
    SATISFIED_FROM,
    AppraisalGrade,
    Attempt,
    Award,
    AwardRule,
    AwardType,
    Choice,
    Exam,
    ParticipationRating,
    Question,
    Survey,
    SurveyAnswer,
    SurveyRespondent,
    SurveyResponse,
    SurveyTemplate,
)
from org import selectors as org_selectors
from org.models import OrgUnit, User, ancestor_paths, prefix_q
from sessions import selectors as session_selectors
from sessions.models import Session

HUNDRED = Decimal(100)

# The built-in question set of the satisfaction survey (课程质量满意度测评表), used by every
# unit that has not written its own. Copied in the portal's language when a survey opens.
DEFAULT_QUESTIONS: tuple[tuple[str, bool], ...] = (
    # Translators: 课程质量满意度测评表 item 授课内容
    (gettext_lazy("Content: the class was relevant and substantial"), False),
    # Translators: 测评表 item 实用性 (学以致用)
    (gettext_lazy("Practicality: I can use what I learned in my work"), False),
    # Translators: 测评表 item 授课表现
    (gettext_lazy("Delivery: the lecturer explained clearly and engaged the audience"), False),
    # Translators: 测评表 item 总体满意度 — the satisfaction rate (满意率) is computed from it
    (gettext_lazy("Overall, how satisfied are you with this class?"), True),
)

# Translators: the five points of the satisfaction scale (非常不满意 … 非常满意)
LIKERT_LABELS = {
    1: gettext_lazy("very dissatisfied"),
    2: gettext_lazy("dissatisfied"),
    3: gettext_lazy("neutral"),
    4: gettext_lazy("satisfied"),
    5: gettext_lazy("very satisfied"),
}


def portal_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """[1 January, next 1 January) of `year` in Beijing time, as aware datetimes."""
    tz = portal_tz()
    return dt.datetime(year, 1, 1, tzinfo=tz), dt.datetime(year + 1, 1, 1, tzinfo=tz)


def local_year(when: dt.datetime) -> int:
    return when.astimezone(portal_tz()).year


def percent(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """part / whole as a percentage with two decimals (half up); None when whole is 0."""
    if not whole:
        return None
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _ancestor_paths(path: str) -> list[str]:
    return ancestor_paths(path)


# --- Surveys: the question set and the window -----------------------------------------------


def survey_template_for(unit: OrgUnit | None) -> SurveyTemplate | None:
    """The question set in force for `unit`: the nearest one up the tree (None: built-in)."""
    if unit is None:
        return None
    return (
        SurveyTemplate.objects.filter(unit__path__in=_ancestor_paths(unit.path))
        .order_by("-unit__depth")
        .prefetch_related("questions")
        .first()
    )


def survey_questions_for(unit: OrgUnit | None) -> list[tuple[str, bool]]:
    """(text, is_overall) of the questions a new survey of a class hosted by `unit` asks."""
    template = survey_template_for(unit)
    if template is None:
        return [(str(text), overall) for text, overall in DEFAULT_QUESTIONS]
    return [(q.text, q.is_overall) for q in template.questions.all()]


def survey_templates_managed_by(user: User) -> QuerySet[SurveyTemplate]:
    paths = org_selectors.scope_for(user).paths("manage")
    qs = SurveyTemplate.objects.select_related("unit").prefetch_related("questions")
    return qs if paths is None else qs.filter(prefix_q("unit__path", paths))


def survey_window_days() -> int:
    return settings.EVALUATIONS_SURVEY_WINDOW_DAYS


def sessions_needing_survey(*, now: dt.datetime) -> QuerySet[Session]:
    """Classes closed within the survey window that have no survey yet."""
    since = now - dt.timedelta(days=survey_window_days())
    return Session.objects.filter(
        status=Session.Status.CLOSED, closed_at__gt=since, closed_at__lte=now, survey__isnull=True
    )


def is_attendee(session: Session, person: User) -> bool:
    return session_selectors.attendees_of(session).filter(pk=person.pk).exists()


def is_speaker(session: Session, person: User) -> bool:
    return session.speakers.filter(person_id=person.pk).exists()


def has_responded(survey: Survey, person: User) -> bool:
    return SurveyRespondent.objects.filter(survey=survey, person=person).exists()


@dataclass
class PendingSurvey:
    """A class the person may still rate, and until when."""

    session: Session
    closes_at: dt.datetime


def pending_surveys_for(person: User, *, now: dt.datetime | None = None) -> list[PendingSurvey]:
    """Classes the person attended (not as a speaker) whose survey is open and unanswered.

    A class closed within the window whose survey row is not created yet counts too: the
    survey opens the moment the class is closed, the row follows (task or first visit).
    """
    now = now or timezone.now()
    since = now - dt.timedelta(days=survey_window_days())
    attended = session_selectors.sessions_attended_by(person).filter(status=Session.Status.CLOSED)
    given = session_selectors.sessions_given_by(person).values("pk")
    answered = SurveyRespondent.objects.filter(person=person).values("survey__session_id")
    rows = (
        attended.filter(Q(survey__isnull=True, closed_at__gt=since) | Q(survey__closes_at__gt=now))
        .exclude(pk__in=given)
        .exclude(pk__in=answered)
        .select_related("survey", "track")
        .order_by("closed_at", "pk")
    )
    pending = []
    for session in rows:
        survey = getattr(session, "survey", None)
        closes = survey.closes_at if survey else session.closed_at + dt.timedelta(days=survey_window_days())
        pending.append(PendingSurvey(session=session, closes_at=closes))
    return pending


def answered_sessions_of(person: User) -> QuerySet[Session]:
    """Classes the person rated (that they did — never what they answered)."""
    return Session.objects.filter(
        survey__respondents__person=person
    ).select_related("survey", "track").order_by("-closed_at", "-pk")


# --- Survey results -----------------------------------------------------------------------------


def can_see_results(user: User, session: Session) -> bool:
    """The class's speakers and the people whose view scope covers its host unit."""
    if org_selectors.scope_for(user).covers(session.host_unit, "view"):
        return True
    return is_speaker(session, user)


def results_sessions_visible_to(user: User) -> QuerySet[Session]:
    """Closed classes whose results the user may read: given by them, or hosted in scope."""
    paths = org_selectors.scope_for(user).paths("view")
    own = Q(pk__in=session_selectors.sessions_given_by(user).values("pk"))
    qs = Session.objects.filter(status=Session.Status.CLOSED)
    if paths is None:
        return qs
    return qs.filter(prefix_q("host_unit__path", paths) | own)


def surveys_visible_to(user: User) -> QuerySet[Survey]:
    """Surveys of the classes whose results the user may read, with list data."""
    return (
        Survey.objects.filter(session__in=results_sessions_visible_to(user))
        .select_related("session", "session__host_unit", "session__track")
        .order_by("-session__start", "-pk")
    )


@dataclass
class QuestionResult:
    question_id: int
    text: str
    is_overall: bool
    answers: int
    average: Decimal | None
    distribution: dict[int, int]

    @property
    def bars(self) -> list[tuple[int, str, int, Decimal | None]]:
        """(value, label, count, percent) for each point of the scale, 5 first."""
        return [
            (v, str(LIKERT_LABELS[v]), self.distribution.get(v, 0), percent(self.distribution.get(v, 0), self.answers))
            for v in range(5, 0, -1)
        ]


@dataclass
class SurveyResults:
    """What a lecturer or admin sees of one class's survey (aggregates only)."""

    survey: Survey
    attendees: int
    responses: int
    available: bool
    reason: str = ""
    response_rate: Decimal | None = None
    satisfaction_rate: Decimal | None = None
    questions: list[QuestionResult] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


def survey_results(survey: Survey, *, now: dt.datetime | None = None) -> SurveyResults:
    """Aggregated results of a survey, or why they are not shown yet.

    Nothing below the threshold and nothing before the survey closed: otherwise a
    reader who watched the figures before and after one person answered would learn
    that person's answers. Comments are ordered by their random keys.
    """
    now = now or timezone.now()
    attendees = session_selectors.attendees_of(survey.session).count()
    responses = survey.response_count
    base = SurveyResults(
        survey=survey, attendees=attendees, responses=responses, available=False,
        response_rate=percent(responses, attendees),
    )
    if now < survey.closes_at:
        base.reason = _("Results are shown when the survey closes (%(when)s).") % {
            "when": timezone.localtime(survey.closes_at).strftime("%Y-%m-%d %H:%M")
        }
        return base
    if responses < survey.min_answers:
        base.reason = _(
            "Only %(n)s answers: results are shown from %(min)s answers on, so that nobody's "
            "answers can be singled out."
        ) % {"n": responses, "min": survey.min_answers}
        return base
    base.available = True
    questions = list(survey.questions.all())
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    for question_id, value, n in (
        SurveyAnswer.objects.filter(question__survey=survey)
        .values_list("question_id", "value")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[question_id][value] = n
    for q in questions:
        dist = counts.get(q.pk, {})
        total = sum(dist.values())
        avg = (
            (Decimal(sum(v * n for v, n in dist.items())) / Decimal(total)).quantize(Decimal("0.01"))
            if total
            else None
        )
        base.questions.append(
            QuestionResult(q.pk, q.text, q.is_overall, total, avg, dist)
        )
        if q.is_overall:
            satisfied = sum(n for v, n in dist.items() if v >= SATISFIED_FROM)
            base.satisfaction_rate = percent(satisfied, total)
    comments = SurveyResponse.objects.filter(survey=survey).exclude(comment="").order_by("pk")
    if survey.anonymous:
        base.comments = list(comments.values_list("comment", flat=True))
    else:
        # A survey made non-anonymous before anyone answered: the comments are signed.
        base.comments = [
            _("%(name)s: %(comment)s") % {"name": name, "comment": comment} if name else comment
            for comment, name in comments.values_list("comment", "respondent__name")
        ]
    return base


def survey_results_rows(results: SurveyResults) -> Iterator[list]:
    """Rows of a class's results export: one per question, then the comments. No person,
    no time, and nothing at all unless the results are available."""
    if not results.available:
        return
    for q in results.questions:
        yield [q.text, q.answers, q.average, *[q.distribution.get(v, 0) for v in range(5, 0, -1)]]
    for comment in results.comments:
        yield [_("Comment"), "", "", comment]


def survey_results_header() -> list[str]:
    return [_("Question"), _("Answers"), _("Average"), *[str(LIKERT_LABELS[v]) for v in range(5, 0, -1)]]


# --- Lecturer statistics per year ----------------------------------------------------------------


@dataclass
class LecturerYear:
    """One lecturer's year: classes given, classes whose survey has results, the pooled
    satisfaction rate over those (satisfied answers / overall answers), the average
    overall score, and the attendance of the classes with a survey."""

    person_id: int
    year: int
    classes_given: int = 0
    classes_rated: int = 0
    overall_answers: int = 0
    satisfied_answers: int = 0
    average_overall: Decimal | None = None
    attendance: int = 0
    person: User | None = None

    @property
    def satisfaction_rate(self) -> Decimal | None:
        return percent(self.satisfied_answers, self.overall_answers)

    def meets(self, *, min_rate: Decimal, min_classes: int) -> bool:
        """≥ min_rate exactly (80 % is in, 79.9 % out), with at least min_classes rated."""
        if self.classes_rated < min_classes or not self.overall_answers:
            return False
        return Decimal(self.satisfied_answers) * HUNDRED >= min_rate * Decimal(self.overall_answers)


def _surveys_with_results(year: int, now: dt.datetime) -> QuerySet[Survey]:
    start, end = year_bounds(year)
    return Survey.objects.filter(
        session__status=Session.Status.CLOSED,
        session__start__gte=start,
        session__start__lt=end,
        closes_at__lte=now,
        response_count__gte=F("min_answers"),
    )


def lecturer_year_stats(
    *, year: int, person_ids=None, now: dt.datetime | None = None, with_people: bool = True
) -> list[LecturerYear]:
    """Per staff lecturer: the year's figures (a fixed number of queries for any number).

    `person_ids` (ids or a queryset of ids) limits the lecturers; None means everyone.
    """
    now = now or timezone.now()
    start, end = year_bounds(year)
    stats: dict[int, LecturerYear] = {}

    def row(pid: int) -> LecturerYear:
        if pid not in stats:
            stats[pid] = LecturerYear(person_id=pid, year=year)
        return stats[pid]

    given = Session.objects.filter(
        status=Session.Status.CLOSED, start__gte=start, start__lt=end, speakers__person__isnull=False
    )
    if person_ids is not None:
        given = given.filter(speakers__person__in=person_ids)
    for pid, n in given.values_list("speakers__person").annotate(n=Count("pk", distinct=True)).order_by():
        row(pid).classes_given = n

    rated = _surveys_with_results(year, now).filter(session__speakers__person__isnull=False)
    if person_ids is not None:
        rated = rated.filter(session__speakers__person__in=person_ids)
    for pid, n, attendance in (
        rated.values_list("session__speakers__person")
        .annotate(n=Count("pk", distinct=True), a=Sum("attendee_count"))
        .order_by()
    ):
        lecturer = row(pid)
        lecturer.classes_rated, lecturer.attendance = n, attendance or 0

    answers = SurveyAnswer.objects.filter(
        question__is_overall=True, response__survey__in=_surveys_with_results(year, now)
    )
    key = "response__survey__session__speakers__person"
    answers = answers.filter(**{f"{key}__isnull": False})
    if person_ids is not None:
        answers = answers.filter(**{f"{key}__in": person_ids})
    for pid, total, satisfied, avg in (
        answers.values_list(key)
        .annotate(
            total=Count("pk"),
            satisfied=Count("pk", filter=Q(value__gte=SATISFIED_FROM)),
            avg=Avg("value"),
        )
        .order_by()
    ):
        lecturer = row(pid)
        lecturer.overall_answers, lecturer.satisfied_answers = total, satisfied
        lecturer.average_overall = Decimal(str(avg)).quantize(Decimal("0.01")) if avg is not None else None

    if with_people and stats:
        people = User.objects.filter(pk__in=list(stats)).select_related("unit").in_bulk()
        for pid, lecturer in stats.items():
            lecturer.person = people.get(pid)
    return sorted(
        stats.values(),
        key=lambda s: (-(s.satisfaction_rate or Decimal(-1)), -s.classes_rated, s.person_id),
    )


def lecturer_stats_visible_to(user: User, *, year: int, now: dt.datetime | None = None) -> list[LecturerYear]:
    """The lecturers the user may see: themselves, and the people in their view scope."""
    paths = org_selectors.scope_for(user).paths("view")
    if paths is None:
        ids = None
    elif paths:
        ids = User.objects.filter(Q(pk=user.pk) | prefix_q("unit__path", paths)).values("pk")
    else:
        ids = [user.pk]
    return lecturer_year_stats(year=year, person_ids=ids, now=now)


def class_rates(*, year: int, now: dt.datetime | None = None) -> dict[int, tuple[int, int]]:
    """`{session id: (satisfied, overall answers)}` for the year's classes with results."""
    now = now or timezone.now()
    return {
        sid: (satisfied, total)
        for sid, total, satisfied in SurveyAnswer.objects.filter(
            question__is_overall=True, response__survey__in=_surveys_with_results(year, now)
        )
        .values_list("response__survey__session_id")
        .annotate(total=Count("pk"), satisfied=Count("pk", filter=Q(value__gte=SATISFIED_FROM)))
        .order_by()
    }


# --- Participation ratings --------------------------------------------------------------------------


def participation_sheet(session: Session, rater: User) -> list[tuple[User, ParticipationRating | None]]:
    """The class's attendees (without the rater) with the rater's rating of each, if any."""
    ratings = {
        r.person_id: r for r in ParticipationRating.objects.filter(session=session, rater=rater)
    }
    people = (
        session_selectors.attendees_of(session)
        .exclude(pk=rater.pk)
        .select_related("unit")
        .order_by("unit__path", "employee_no")
    )
    return [(p, ratings.get(p.pk)) for p in people]


def ratings_visible_to(user: User) -> QuerySet[ParticipationRating]:
    """Ratings the user gave, plus ratings of people in the user's view scope."""
    paths = org_selectors.scope_for(user).paths("view")
    qs = ParticipationRating.objects.select_related("person", "rater", "session")
    if paths is None:
        return qs
    return qs.filter(Q(rater=user) | prefix_q("person__unit__path", paths))


# --- Awards and honours ------------------------------------------------------------------------------


def award_types_active() -> QuerySet[AwardType]:
    return AwardType.objects.filter(is_active=True)


def awards_visible_to(user: User) -> QuerySet[Award]:
    """Nominations and awards whose unit lies in the user's view scope."""
    paths = org_selectors.scope_for(user).paths("view")
    qs = Award.objects.select_related("award_type", "person", "unit", "session", "decided_by")
    if paths is None:
        return qs
    return qs.filter(prefix_q("unit__path", paths))


def awards_managed_by(user: User) -> QuerySet[Award]:
    paths = org_selectors.scope_for(user).paths("manage")
    qs = Award.objects.select_related("award_type", "person", "unit", "session")
    return qs if paths is None else qs.filter(prefix_q("unit__path", paths))


def honours_paths(user: User) -> tuple[str, ...] | None:
    """Subtrees whose winners the user's honours board shows (None = everywhere): their
    view scope, plus the subtree of their unit's ancestor at EVALUATIONS_HONOURS_DEPTH."""
    paths = org_selectors.scope_for(user).paths("view")
    if paths is None:
        return None
    extra: list[str] = []
    if user.unit_id:
        depth = max(1, settings.EVALUATIONS_HONOURS_DEPTH)
        extra.append(user.unit.path[: min(len(user.unit.path), depth * OrgUnit.steplen)])
    return tuple(paths) + tuple(extra)


def honours_visible_to(user: User) -> QuerySet[Award]:
    """Confirmed awards on the user's honours board (荣誉榜), newest year first."""
    paths = honours_paths(user)
    qs = Award.objects.filter(status=Award.Status.CONFIRMED).select_related(
        "award_type", "person", "unit", "session"
    )
    if paths is not None:
        qs = qs.filter(prefix_q("unit__path", paths))
    return qs.order_by("-year", "award_type__sort_order", "award_type_id", "unit__path", "person__employee_no")


def awards_of(person: User) -> QuerySet[Award]:
    """A person's confirmed awards (their record of honours)."""
    return (
        Award.objects.filter(person=person, status=Award.Status.CONFIRMED)
        .select_related("award_type", "session")
        .order_by("-year", "award_type__sort_order")
    )


def appraisals_visible_to(user: User) -> QuerySet[AppraisalGrade]:
    paths = org_selectors.scope_for(user).paths("view")
    qs = AppraisalGrade.objects.select_related("person", "person__unit")
    if paths is None:
        return qs
    return qs.filter(Q(person=user) | prefix_q("person__unit__path", paths))


# --- Nomination rules (pure reads; `services.nominations_compute` writes) ------------------------


@dataclass
class Candidate:
    """One computed nomination: who, why, and (for class-based awards) which class."""

    person_id: int
    score: Decimal | None
    basis: str
    session_id: int | None = None


def _basis_lecturer(s: LecturerYear) -> str:
    return _("satisfaction %(rate)s%% (%(sat)s of %(n)s answers) over %(classes)s classes") % {
        "rate": s.satisfaction_rate, "sat": s.satisfied_answers, "n": s.overall_answers,
        "classes": s.classes_rated,
    }


def excellent_lecturer_candidates(award_type: AwardType, *, year: int, now: dt.datetime) -> list[Candidate]:
    """年度优秀教员: satisfaction ≥ the threshold (80 %) over the year's rated classes."""
    return [
        Candidate(s.person_id, s.satisfaction_rate, _basis_lecturer(s))
        for s in lecturer_year_stats(year=year, now=now, with_people=False)
        if s.meets(min_rate=award_type.min_satisfaction, min_classes=award_type.min_classes)
    ]


def _best_classes(year: int, now: dt.datetime, person_ids: list[int], *, with_courseware: bool) -> dict[int, tuple[int, Decimal | None]]:
    """`{person: (session id, rate)}` — each lecturer's best-rated class of the year."""
    rates = class_rates(year=year, now=now)
    start, end = year_bounds(year)
    sessions = Session.objects.filter(
        status=Session.Status.CLOSED, start__gte=start, start__lt=end, speakers__person__in=person_ids
    )
    if with_courseware:
        sessions = sessions.filter(courseware__isnull=False)
    best: dict[int, tuple[int, Decimal | None]] = {}
    for sid, pid in sessions.values_list("pk", "speakers__person").distinct().order_by("pk"):
        sat, total = rates.get(sid, (0, 0))
        rate = percent(sat, total)
        current = best.get(pid)
        if current is None or (rate or Decimal(-1)) > (current[1] or Decimal(-1)):
            best[pid] = (sid, rate)
    return best


def excellent_courseware_candidates(award_type: AwardType, *, year: int, now: dt.datetime) -> list[Candidate]:
    """年度优秀课件: among the year's excellent lecturers (confirmed, else eligible), each
    one's best-rated class that has courseware."""
    lecturer_types = AwardType.objects.filter(rule=AwardRule.EXCELLENT_LECTURER, is_active=True)
    confirmed = set(
        Award.objects.filter(
            award_type__in=lecturer_types, year=year, status=Award.Status.CONFIRMED
        ).values_list("person_id", flat=True)
    )
    eligible = set(confirmed)
    for lt in lecturer_types:
        eligible |= {c.person_id for c in excellent_lecturer_candidates(lt, year=year, now=now)}
    best = _best_classes(year, now, sorted(eligible), with_courseware=True)
    return [
        Candidate(pid, rate, _("courseware of a class rated %(rate)s%%") % {"rate": rate if rate is not None else "—"}, sid)
        for pid, (sid, rate) in best.items()
    ]


def model_lecturer_candidates(award_type: AwardType, *, year: int, now: dt.datetime) -> list[Candidate]:
    """模范教员: confirmed 年度优秀教员 in each of the `consecutive_years` years up to `year`."""
    years = award_type.consecutive_years or 3
    first = year - years + 1
    rows = (
        Award.objects.filter(
            award_type__rule=AwardRule.EXCELLENT_LECTURER,
            status=Award.Status.CONFIRMED,
            year__gte=first,
            year__lte=year,
        )
        .values("person_id")
        .annotate(n=Count("year", distinct=True))
        .filter(n=years)
        .values_list("person_id", flat=True)
    )
    basis = _("excellent lecturer %(first)s–%(last)s") % {"first": first, "last": year}
    return [Candidate(pid, None, basis) for pid in rows]


def year_lecturer_candidates(award_type: AwardType, *, year: int, now: dt.datetime) -> list[Candidate]:
    """最佳创新/专业/表现/潜力奖: every lecturer of the year's rated classes meeting the
    type's (usually low) thresholds, with their best-rated class."""
    stats = [
        s for s in lecturer_year_stats(year=year, now=now, with_people=False)
        if s.meets(min_rate=award_type.min_satisfaction, min_classes=max(1, award_type.min_classes))
    ]
    best = _best_classes(year, now, [s.person_id for s in stats], with_courseware=False)
    return [
        Candidate(s.person_id, s.satisfaction_rate, _basis_lecturer(s), best.get(s.person_id, (None, None))[0])
        for s in stats
    ]


@dataclass
class LearnerScore:
    """The parts of a learner's yearly score, each 0–100, and the weighted total."""

    person_id: int
    participation: Decimal = Decimal(0)
    exams: Decimal = Decimal(0)
    appraisal: Decimal = Decimal(0)
    total: Decimal = Decimal(0)


def learner_scores(award_type: AwardType, *, year: int, now: dt.datetime | None = None) -> Iterator[LearnerScore]:
    """Everyone with any data in the year, scored by the type's weights.

    participation: the lecturers' average rating of the person (1–5) as a percentage;
    exams: the mean of the person's best score on each monthly exam of the year that was
    for them and has closed (an exam not taken counts 0); appraisal: 优秀 100, 称职 80, 基本称职 60,
    不称职 0. Total = Σ weight × part / Σ weights.
    """
    start, end = year_bounds(year)
    parts: dict[int, LearnerScore] = {}

    def row(pid: int) -> LearnerScore:
        if pid not in parts:
            parts[pid] = LearnerScore(pid)
        return parts[pid]

    for pid, avg in (
        ParticipationRating.objects.filter(session__start__gte=start, session__start__lt=end)
        .values_list("person_id")
        .annotate(avg=Avg("score"))
        .order_by()
    ):
        row(pid).participation = (Decimal(str(avg)) * 20).quantize(Decimal("0.01"))

    monthly = list(
        Exam.objects.filter(
            counts_for_awards=True, status=Exam.Status.PUBLISHED, opens_at__gte=start, opens_at__lt=end,
            closes_at__lte=now or timezone.now(),
        ).values_list("pk", "unit__path")
    )
    if monthly:
        sums: dict[int, Decimal] = defaultdict(Decimal)
        for pid, best in (
            Attempt.objects.filter(exam_id__in=[pk for pk, _p in monthly], status__in=[Attempt.Status.SUBMITTED, Attempt.Status.EXPIRED])
            .values_list("person_id", "exam_id")
            .annotate(best=Max("percent"))
            .values_list("person_id", "best")
            .order_by()
            .iterator(chunk_size=5000)
        ):
            sums[pid] += best or Decimal(0)
        unit_paths = dict(User.objects.filter(pk__in=list(sums)).values_list("pk", "unit__path"))
        exams_for_path: dict[str, int] = {}
        for pid, total in sums.items():
            path = unit_paths.get(pid) or ""
            if path not in exams_for_path:
                exams_for_path[path] = sum(1 for _pk, p in monthly if path.startswith(p))
            n = exams_for_path[path]
            if n:
                row(pid).exams = (total / n).quantize(Decimal("0.01"))

    for pid, grade in AppraisalGrade.objects.filter(year=year).values_list("person_id", "grade"):
        row(pid).appraisal = Decimal(AppraisalGrade.SCORES.get(grade, 0))

    weights = (award_type.weight_participation, award_type.weight_exams, award_type.weight_appraisal)
    weight_sum = sum(weights)
    for score in parts.values():
        if weight_sum:
            score.total = (
                (weights[0] * score.participation + weights[1] * score.exams + weights[2] * score.appraisal)
                / weight_sum
            ).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        yield score


def learner_score_candidates(award_type: AwardType, *, year: int, now: dt.datetime) -> list[Candidate]:
    """优秀学员 / 岗位履职标兵: learners whose weighted score reaches the type's minimum."""
    return [
        Candidate(
            s.person_id,
            s.total,
            _("participation %(p)s, exams %(e)s, appraisal %(a)s") % {"p": s.participation, "e": s.exams, "a": s.appraisal},
        )
        for s in learner_scores(award_type, year=year, now=now)
        if s.total >= award_type.min_score
    ]


CANDIDATE_RULES = {
    AwardRule.EXCELLENT_LECTURER: excellent_lecturer_candidates,
    AwardRule.EXCELLENT_COURSEWARE: excellent_courseware_candidates,
    AwardRule.MODEL_LECTURER: model_lecturer_candidates,
    AwardRule.YEAR_LECTURERS: year_lecturer_candidates,
    AwardRule.LEARNER_SCORE: learner_score_candidates,
}


def candidates_for(award_type: AwardType, *, year: int, now: dt.datetime | None = None) -> list[Candidate]:
    """The computed nominations of a type for a year ([] for manual types)."""
    rule = CANDIDATE_RULES.get(award_type.rule)
    return rule(award_type, year=year, now=now or timezone.now()) if rule else []


# --- Exams -----------------------------------------------------------------------------------------


def _audience_q(user: User) -> Q:
    if not user.unit_id:
        return Q(pk__in=[])
    return Q(unit__path__in=_ancestor_paths(user.unit.path))


def exams_visible_to(user: User) -> QuerySet[Exam]:
    """Published exams for the user's unit (or an ancestor), and every exam in view scope."""
    paths = org_selectors.scope_for(user).paths("view")
    qs = Exam.objects.select_related("unit")
    if paths is None:
        return qs
    mine = _audience_q(user) & Q(status__in=[Exam.Status.PUBLISHED])
    return qs.filter(mine | prefix_q("unit__path", paths))


def exams_open_to(user: User, *, now: dt.datetime | None = None) -> QuerySet[Exam]:
    """Published exams the user may sit now, with how many attempts they used."""
    now = now or timezone.now()
    return (
        Exam.objects.filter(_audience_q(user), status=Exam.Status.PUBLISHED, opens_at__lte=now, closes_at__gt=now)
        .annotate(
            used=Count("attempts", filter=Q(attempts__person=user)),
            passed_any=Exists(Attempt.objects.filter(exam_id=OuterRef("pk"), person=user, passed=True)),
        )
        .select_related("unit")
        .order_by("closes_at", "pk")
    )


def exams_managed_by(user: User) -> QuerySet[Exam]:
    paths = org_selectors.scope_for(user).paths("manage")
    qs = Exam.objects.select_related("unit")
    return qs if paths is None else qs.filter(prefix_q("unit__path", paths))


def can_read_exam_results(user: User, exam: Exam) -> bool:
    """Admins, managers and class teachers read the results of the people in their scope,
    also for an exam set by a unit above them (the city's monthly exam)."""
    scope = org_selectors.scope_for(user)
    return scope.view is None or bool(scope.view)


def in_exam_audience(exam: Exam, person: User) -> bool:
    return bool(person.unit_id) and person.unit.path.startswith(exam.unit.path)


def questions_managed_by(user: User) -> QuerySet[Question]:
    """The question banks the user may read and edit (they hold the answers)."""
    paths = org_selectors.scope_for(user).paths("manage")
    qs = Question.objects.select_related("unit").prefetch_related("tags", "choices")
    return qs if paths is None else qs.filter(prefix_q("unit__path", paths))


def question_pool(exam: Exam) -> QuerySet[Question]:
    """Active questions an attempt of the exam may draw: banks of the exam's unit and its
    ancestors, with one of the exam's tags (any, when the exam has none)."""
    pool = Question.objects.filter(is_active=True, unit__path__in=_ancestor_paths(exam.unit.path))
    tag_ids = [t.pk for t in exam.tags.all()]
    if tag_ids:
        pool = pool.filter(tags__in=tag_ids).distinct()
    return pool


def pool_size(exam: Exam) -> int:
    return question_pool(exam).count()


def attempts_of(person: User, exam: Exam) -> QuerySet[Attempt]:
    return Attempt.objects.filter(person=person, exam=exam).order_by("number")


def my_attempts(person: User) -> QuerySet[Attempt]:
    return Attempt.objects.filter(person=person).select_related("exam").order_by("-started_at", "-pk")


def attempt_for(person: User, pk: int) -> Attempt:
    """The person's own attempt (Attempt.DoesNotExist for anyone else's)."""
    return Attempt.objects.select_related("exam", "exam__unit").get(pk=pk, person=person)


def attempts_visible_to(user: User) -> QuerySet[Attempt]:
    """The user's own attempts, and attempts of people in their view scope."""
    paths = org_selectors.scope_for(user).paths("view")
    qs = Attempt.objects.select_related("exam", "person", "unit")
    if paths is None:
        return qs
    return qs.filter(Q(person=user) | prefix_q("unit__path", paths))


@dataclass
class PaperItem:
    """A question as the person sees it during an attempt: no correctness, no explanation."""

    item_id: int
    question_id: int
    position: int
    kind: str
    text: str
    choices: list[tuple[int, str]]
    selected: list[int]


def attempt_paper(attempt: Attempt) -> list[PaperItem]:
    """The attempt's questions with options in this attempt's order — nothing that tells
    which option is right (safe to send to the client before submission)."""
    items = list(attempt.items.select_related("question").order_by("position"))
    texts = dict(
        Choice.objects.filter(question_id__in=[i.question_id for i in items]).values_list("pk", "text")
    )
    return [
        PaperItem(
            item_id=i.pk,
            question_id=i.question_id,
            position=i.position,
            kind=i.question.kind,
            text=i.question.text,
            choices=[(cid, texts.get(cid, "")) for cid in i.choice_order],
            selected=list(i.selected),
        )
        for i in items
    ]


@dataclass
class ReviewItem:
    position: int
    kind: str
    text: str
    choices: list[tuple[int, str, bool, bool]]  # (id, text, chosen, correct)
    is_correct: bool | None
    explanation: str


def can_review_answers(attempt: Attempt, *, now: dt.datetime | None = None) -> bool:
    """Correct answers are shown once the person has no attempt left or the exam closed,
    so that a second attempt cannot be answered from the first one's review."""
    now = now or timezone.now()
    if not attempt.is_finished:
        return False
    exam = attempt.exam
    if now >= exam.closes_at:
        return True
    used = Attempt.objects.filter(exam=exam, person_id=attempt.person_id).count()
    return used >= exam.attempts_allowed or Attempt.objects.filter(
        exam=exam, person_id=attempt.person_id, passed=True
    ).exists()


def attempt_review(attempt: Attempt) -> list[ReviewItem]:
    items = list(attempt.items.select_related("question").order_by("position"))
    choices = {
        c.pk: c for c in Choice.objects.filter(question_id__in=[i.question_id for i in items])
    }
    review = []
    for i in items:
        chosen = set(i.selected)
        review.append(
            ReviewItem(
                position=i.position,
                kind=i.question.kind,
                text=i.question.text,
                choices=[
                    (cid, choices[cid].text, cid in chosen, choices[cid].is_correct)
                    for cid in i.choice_order
                    if cid in choices
                ],
                is_correct=i.is_correct,
                explanation=i.question.explanation,
            )
        )
    return review


def exam_person_results(exam: Exam, user: User) -> QuerySet[Attempt]:
    """Each person's best finished attempt at the exam (best score, then the earliest), for
    the user's own attempts and people in their view scope; `attempts_used` per person."""
    finished = Attempt.objects.filter(exam_id=exam.pk).exclude(status=Attempt.Status.IN_PROGRESS)
    best = Subquery(
        finished.filter(person_id=OuterRef("person_id"))
        .order_by(F("percent").desc(nulls_last=True), "submitted_at", "pk")
        .values("pk")[:1]
    )
    used = Subquery(
        Attempt.objects.filter(exam_id=exam.pk, person_id=OuterRef("person_id"))
        .order_by()
        .values("person_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        attempts_visible_to(user)
        .filter(exam_id=exam.pk)
        .exclude(status=Attempt.Status.IN_PROGRESS)
        .filter(pk=best)
        .annotate(attempts_used=used)
        .order_by("unit__path", "person__employee_no")
    )


@dataclass
class UnitExamResult:
    unit_id: int | None
    unit_name: str
    people: int
    passed: int
    average: Decimal | None

    @property
    def pass_rate(self) -> Decimal | None:
        return percent(self.passed, self.people)


def exam_unit_results(exam: Exam, user: User) -> list[UnitExamResult]:
    """Per unit (where people worked when they sat it): people who finished, how many
    passed, the average of their best scores — over what the user may see."""
    per_unit: dict[int | None, list[tuple[Decimal, bool]]] = defaultdict(list)
    for a in exam_person_results(exam, user).values_list("unit_id", "percent", "passed").iterator(chunk_size=5000):
        per_unit[a[0]].append((a[1] or Decimal(0), a[2]))
    names = org_selectors.unit_full_names(OrgUnit.objects.filter(pk__in=[u for u in per_unit if u]))
    result = []
    for unit_id, scores in per_unit.items():
        total = sum((p for p, _ok in scores), Decimal(0))
        result.append(
            UnitExamResult(
                unit_id=unit_id,
                unit_name=names.get(unit_id, "—") if unit_id else "—",
                people=len(scores),
                passed=sum(1 for _p, ok in scores if ok),
                average=(total / len(scores)).quantize(Decimal("0.01")),
            )
        )
    return sorted(result, key=lambda r: r.unit_name)


def exam_results_header() -> list[str]:
    return [_("Name"), _("Employee number"), _("Unit"), _("Best score (%)"), _("Passed"),
            _("Attempts"), _("Submitted at")]


def exam_results_rows(exam: Exam, user: User) -> Iterator[list]:
    names = org_selectors.unit_full_names()
    for a in exam_person_results(exam, user).iterator(chunk_size=2000):
        yield [a.person.name, a.person.employee_no, names.get(a.unit_id, ""), a.percent,
               _("yes") if a.passed else _("no"), a.attempts_used, a.submitted_at]

