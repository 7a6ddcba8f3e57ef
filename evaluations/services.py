"""Writes of evaluations: surveys, participation ratings, awards, appraisals and exams.

Every function validates first, then writes inside one transaction. Scope checks live
here (not only in views) so the API, the pages and the tasks cannot disagree. Credits
are given only through `credits.services.credit_award`, with keys derived from the
cause (``award:<award id>``, ``exam:<exam id>:<person id>``), so they are given once.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from evaluations import imports, selectors
from evaluations.models import (
    LIKERT_MAX,
    LIKERT_MIN,
    AppraisalGrade,
    Attempt,
    AttemptQuestion,
    Award,
    AwardRule,
    AwardType,
    Choice,
    Exam,
    ParticipationRating,
    Question,
    QuestionTag,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyRespondent,
    SurveyResponse,
    SurveyTemplate,
    TemplateQuestion,
)
from org import selectors as org_selectors
from org.models import OrgUnit, User
from org.services import notification_send
from sessions import selectors as session_selectors
from sessions.models import Session

Errors = dict[str, list[str]]
_rng = random.SystemRandom()


def _fail(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)


def _require_manage_unit(actor: User, unit: OrgUnit | None, message: str) -> None:
    if unit is None or not org_selectors.can_manage_unit(actor, unit):
        raise PermissionDenied(message)


def _require_system_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_superuser:
        raise PermissionDenied(_("Only a system administrator may change award types."))


def _int(value: Any) -> int | None:
    """An int, or None for anything else (bools and "5" included)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _local(when: dt.datetime) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M")


# --- Survey question sets ------------------------------------------------------------------------


MAX_SURVEY_QUESTIONS = 12


@transaction.atomic
def survey_template_save(
    *, actor: User, unit: OrgUnit, name: str, questions: list[dict[str, Any]]
) -> SurveyTemplate:
    """Set the question set of `unit` (and the units below it without their own).

    `questions` is a list of {"text", "is_overall"}: 1 to 12 five-point questions, exactly
    one of them the overall-satisfaction question the satisfaction rate is computed from.
    Surveys already opened keep the questions they were opened with.
    """
    _require_manage_unit(actor, unit, _("Only an admin of the unit may change its survey questions."))
    errors: Errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Give the question set a name.")]
    elif len(name) > 100:
        errors["name"] = [_("The name is at most 100 characters.")]
    cleaned: list[tuple[str, bool]] = []
    if not isinstance(questions, list) or not 1 <= len(questions) <= MAX_SURVEY_QUESTIONS:
        errors["questions"] = [_("Give between 1 and %(n)s questions.") % {"n": MAX_SURVEY_QUESTIONS}]
    else:
        problems = []
        for number, item in enumerate(questions, start=1):
            text = str((item or {}).get("text", "")).strip() if isinstance(item, dict) else ""
            if not text:
                problems.append(_("Question %(n)s is empty.") % {"n": number})
            elif len(text) > 200:
                problems.append(_("Question %(n)s is longer than 200 characters.") % {"n": number})
            cleaned.append((text, bool(isinstance(item, dict) and item.get("is_overall"))))
        overall = sum(1 for _t, o in cleaned if o)
        if overall != 1:
            problems.append(_("Mark exactly one question as the overall-satisfaction question (%(n)s marked).") % {"n": overall})
        if problems:
            errors["questions"] = problems
    _fail(errors)
    template, _created = SurveyTemplate.objects.update_or_create(
        unit=unit, defaults={"name": name, "updated_at": timezone.now()}
    )
    template.questions.all().delete()
    TemplateQuestion.objects.bulk_create(
        [TemplateQuestion(template=template, text=t, is_overall=o, sort_order=i) for i, (t, o) in enumerate(cleaned)]
    )
    return template


@transaction.atomic
def survey_template_delete(*, actor: User, template: SurveyTemplate) -> None:
    """Go back to the question set of the unit above (or the built-in one)."""
    _require_manage_unit(actor, template.unit, _("Only an admin of the unit may change its survey questions."))
    template.delete()


# --- Surveys -----------------------------------------------------------------------------------------


def _survey_link(session: Session) -> str:
    return reverse("evaluations:survey_form", args=[session.pk])


def survey_open(*, session: Session, now: dt.datetime | None = None, notify: bool = True) -> Survey:
    """Open the satisfaction survey of a closed class (once; later calls return it).

    The window runs from the moment the class was closed for EVALUATIONS_SURVEY_WINDOW_DAYS.
    The questions are copied from the question set in force for the host unit, in the
    portal's language. The attendees (not the speakers) are invited once.
    """
    existing = Survey.objects.filter(session_id=session.pk).first()
    if existing is not None:
        return existing
    session = Session.objects.select_related("host_unit").get(pk=session.pk)
    if session.status != Session.Status.CLOSED or session.closed_at is None:
        raise ValidationError({"session": [_("The survey opens when the class has been closed.")]})
    now = now or timezone.now()
    opens = session.closed_at
    closes = opens + dt.timedelta(days=selectors.survey_window_days())
    try:
        with transaction.atomic():
            with translation.override(settings.LANGUAGE_CODE):
                questions = selectors.survey_questions_for(session.host_unit)
            attendees = session_selectors.attendees_of(session)
            survey = Survey.objects.create(
                session=session, opens_at=opens, closes_at=closes,
                min_answers=settings.EVALUATIONS_SURVEY_MIN_ANSWERS,
                attendee_count=attendees.count(), created_at=now,
            )
            SurveyQuestion.objects.bulk_create(
                [SurveyQuestion(survey=survey, text=t, is_overall=o, sort_order=i) for i, (t, o) in enumerate(questions)]
            )
            if notify and now < closes:
                speakers = session.speakers.filter(person__isnull=False).values("person_id")
                notification_send(
                    recipients=attendees.exclude(pk__in=speakers).filter(is_active=True).iterator(chunk_size=2000),
                    # Translators: 课程质量满意度测评表 — the satisfaction survey of a class
                    title=_("Please rate the class “%(title)s”") % {"title": session.title},
                    body=_("The satisfaction survey is anonymous and open until %(when)s.") % {"when": _local(closes)},
                    link=_survey_link(session),
                    kind="evaluations.survey",
                )
            return survey
    except IntegrityError:
        # Opened meanwhile by another worker or request.
        return Survey.objects.get(session_id=session.pk)


def surveys_open_due(*, now: dt.datetime | None = None) -> int:
    """Open the surveys of classes closed within the window that have none yet."""
    now = now or timezone.now()
    opened = 0
    for session in selectors.sessions_needing_survey(now=now).order_by("pk").iterator(chunk_size=200):
        survey_open(session=session, now=now)
        opened += 1
    return opened


@transaction.atomic
def survey_set_anonymity(*, actor: User, survey: Survey, anonymous: bool) -> Survey:
    """Switch a survey's anonymity; refused once anyone answered (either way: answers
    given in confidence stay confidential, and named answers stay named)."""
    survey = Survey.objects.select_for_update().select_related("session__host_unit").get(pk=survey.pk)
    _require_manage_unit(actor, survey.session.host_unit, _("Only an admin of the host unit may change the survey."))
    if not isinstance(anonymous, bool):
        raise ValidationError({"anonymous": [_("Choose yes or no.")]})
    if survey.anonymous == anonymous:
        return survey
    if survey.response_count or SurveyRespondent.objects.filter(survey=survey).exists():
        raise ValidationError(
            {"anonymous": [_("People have already answered this survey, so its anonymity can no longer change.")]}
        )
    survey.anonymous = anonymous
    survey.save(update_fields=["anonymous"])
    return survey


def survey_submit(
    *,
    session: Session,
    person: User,
    answers: dict[Any, Any],
    comment: str = "",
    now: dt.datetime | None = None,
) -> None:
    """Record one person's answers to a class's survey — once, anonymously.

    Refused (nothing written) for someone who did not attend (present or late), for a
    speaker of the class (nobody rates their own class), outside the window, with an
    answer missing, out of range or for a question not in the survey, and a second
    time. "Once" holds under concurrency: the respondent row's unique key lets exactly
    one of any number of simultaneous submissions through; the others get the message.
    Returns nothing: not even the caller learns the response's key.
    """
    now = now or timezone.now()
    session = Session.objects.select_related("host_unit").get(pk=session.pk)
    errors: Errors = {}
    if session.status != Session.Status.CLOSED:
        raise ValidationError({"session": [_("The survey opens when the class has been closed.")]})
    survey = survey_open(session=session, now=now)
    if selectors.is_speaker(session, person):
        raise ValidationError({"session": [_("You gave this class, so you cannot rate it.")]})
    if not selectors.is_attendee(session, person):
        raise ValidationError({"session": [_("Only people who attended the class can rate it.")]})
    if SurveyRespondent.objects.filter(survey=survey, person=person).exists():
        raise ValidationError({"session": [_("You have already rated this class. Thank you!")]})
    if now < survey.opens_at or now >= survey.closes_at:
        raise ValidationError(
            {"session": [_("The survey closed on %(when)s.") % {"when": _local(survey.closes_at)}]}
        )
    questions = {q.pk: q for q in survey.questions.all()}
    values: dict[int, int] = {}
    if not isinstance(answers, dict):
        raise ValidationError({"answers": [_("Answers are a mapping of question to value.")]})
    problems: list[str] = []
    named: set[int] = set()
    for key, value in answers.items():
        try:
            qid = int(key)
        except (TypeError, ValueError):
            qid = None
        if qid is None or qid not in questions:
            problems.append(_("Question %(q)s is not part of this survey.") % {"q": str(key)[:20]})
            continue
        named.add(qid)
        number = _int(value)
        if number is None or not LIKERT_MIN <= number <= LIKERT_MAX:
            problems.append(
                _("“%(q)s”: choose a whole number from %(lo)s to %(hi)s.")
                % {"q": questions[qid].text, "lo": LIKERT_MIN, "hi": LIKERT_MAX}
            )
            continue
        values[qid] = number
    missing = [q.text for qid, q in questions.items() if qid not in named]
    if missing:
        problems.append(_("Please answer every question: %(q)s.") % {"q": "; ".join(missing)})
    if problems:
        errors["answers"] = problems
    comment = (comment or "").strip()
    if len(comment) > 1000:
        errors["comment"] = [_("The comment is at most 1,000 characters.")]
    _fail(errors)
    try:
        with transaction.atomic():
            SurveyRespondent.objects.create(survey=survey, person=person)
            response = SurveyResponse.objects.create(
                survey=survey,
                submitted_on=timezone.localdate(now),
                comment=comment,
                respondent=None if survey.anonymous else person,
            )
            SurveyAnswer.objects.bulk_create(
                [SurveyAnswer(response=response, question_id=qid, value=v) for qid, v in values.items()]
            )
            Survey.objects.filter(pk=survey.pk).update(response_count=F("response_count") + 1)
    except IntegrityError:
        raise ValidationError({"session": [_("You have already rated this class. Thank you!")]}) from None


def surveys_remind_due(*, now: dt.datetime | None = None) -> int:
    """Remind attendees who have not answered, once per survey, shortly before it closes."""
    now = now or timezone.now()
    soon = now + dt.timedelta(hours=settings.EVALUATIONS_SURVEY_REMIND_HOURS)
    sent = 0
    due = Survey.objects.filter(reminded_at__isnull=True, opens_at__lte=now, closes_at__gt=now, closes_at__lte=soon)
    for survey_id in list(due.values_list("pk", flat=True)):
        sent += survey_remind(survey_id=survey_id, now=now)
    return sent


def survey_remind(*, survey_id: int, now: dt.datetime | None = None) -> int:
    """Send one survey's reminder unless it was sent already; returns recipients."""
    now = now or timezone.now()
    with transaction.atomic():
        if not Survey.objects.filter(pk=survey_id, reminded_at__isnull=True).update(reminded_at=now):
            return 0
        survey = Survey.objects.select_related("session").get(pk=survey_id)
        session = survey.session
        attendees = session_selectors.attendees_of(session)
        Survey.objects.filter(pk=survey_id).update(attendee_count=attendees.count())
        waiting = (
            attendees.filter(is_active=True)
            .exclude(pk__in=SurveyRespondent.objects.filter(survey=survey).values("person_id"))
            .exclude(pk__in=session.speakers.filter(person__isnull=False).values("person_id"))
        )
        people = list(waiting)
        notification_send(
            recipients=people,
            title=_("Reminder: rate the class “%(title)s”") % {"title": session.title},
            body=_("The anonymous satisfaction survey closes on %(when)s.") % {"when": _local(survey.closes_at)},
            link=_survey_link(session),
            kind="evaluations.survey_reminder",
        )
        return len(people)


# --- Lecturers rate learners ------------------------------------------------------------------------


@transaction.atomic
def participation_rate(
    *,
    rater: User,
    session: Session,
    person: User,
    score: int,
    note: str = "",
    now: dt.datetime | None = None,
) -> ParticipationRating:
    """A lecturer rates how an attendee took part in a closed class they gave (1–5).

    Rating again changes the rating. Only the class's staff speakers may rate, only
    attendees can be rated, and nobody rates themselves.
    """
    now = now or timezone.now()
    if not selectors.is_speaker(session, rater):
        raise PermissionDenied(_("Only a lecturer of the class may rate its learners."))
    errors: Errors = {}
    if session.status != Session.Status.CLOSED:
        errors["session"] = [_("Learners can be rated once the class has been closed.")]
    if person.pk == rater.pk:
        errors["person"] = [_("You cannot rate yourself.")]
    elif not selectors.is_attendee(session, person):
        errors["person"] = [_("%(name)s did not attend this class.") % {"name": person.name}]
    number = _int(score)
    if number is None or not LIKERT_MIN <= number <= LIKERT_MAX:
        errors["score"] = [_("Choose a whole number from %(lo)s to %(hi)s.") % {"lo": LIKERT_MIN, "hi": LIKERT_MAX}]
    note = (note or "").strip()
    if len(note) > 300:
        errors["note"] = [_("The note is at most 300 characters.")]
    _fail(errors)
    rating, _created = ParticipationRating.objects.update_or_create(
        session=session, person=person, rater=rater, defaults={"score": number, "note": note, "updated_at": now}
    )
    return rating


@transaction.atomic
def participation_unrate(*, rater: User, rating: ParticipationRating) -> None:
    if rating.rater_id != rater.pk:
        raise PermissionDenied(_("You can only remove your own ratings."))
    rating.delete()


# --- Award types -----------------------------------------------------------------------------------

AWARD_TYPE_FIELDS = (
    "name", "description", "rule", "for_lecturers", "points", "min_satisfaction", "min_classes",
    "consecutive_years", "weight_participation", "weight_exams", "weight_appraisal", "min_score",
    "is_active", "sort_order",
)


def _decimal(value: Any, field_name: str, errors: Errors, *, low: Decimal, high: Decimal, allow_none: bool = False) -> Decimal | None:
    if value is None and allow_none:
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        errors[field_name] = [_("Enter a number.")]
        return None
    if isinstance(value, bool) or not number.is_finite() or not low <= number <= high:
        errors[field_name] = [_("Enter a number from %(lo)s to %(hi)s.") % {"lo": low, "hi": high}]
        return None
    if number != number.quantize(Decimal("0.01")):
        errors[field_name] = [_("At most two decimals.")]
        return None
    return number


@transaction.atomic
def award_type_save(*, actor: User | None, award_type: AwardType | None = None, code: str = "", **values: Any) -> AwardType:
    """Create or change an award type (system admins). The code never changes."""
    _require_system_admin(actor)
    unknown = sorted(set(values) - set(AWARD_TYPE_FIELDS))
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in unknown})
    errors: Errors = {}
    instance = award_type or AwardType()
    if award_type is None:
        code = (code or "").strip()
        if not code or len(code) > 50 or not all(c.isalnum() or c in "-_" for c in code):
            errors["code"] = [_("The code is 1 to 50 letters, digits, - or _.")]
        elif AwardType.objects.filter(code=code).exists():
            errors["code"] = [_("The code “%(c)s” is already used.") % {"c": code}]
        instance.code = code
    if "name" in values or award_type is None:
        name = str(values.get("name", "")).strip()
        if not name or len(name) > 100:
            errors["name"] = [_("The name is 1 to 100 characters.")]
        instance.name = name
    if "description" in values:
        instance.description = str(values["description"] or "").strip()[:2000]
    if "rule" in values or award_type is None:
        if values.get("rule") not in AwardRule.values:
            errors["rule"] = [_("Choose one of: %(r)s.") % {"r": ", ".join(AwardRule.values)}]
        else:
            instance.rule = values["rule"]
    for flag in ("for_lecturers", "is_active"):
        if flag in values:
            if not isinstance(values[flag], bool):
                errors[flag] = [_("Choose yes or no.")]
            else:
                setattr(instance, flag, values[flag])
    if "points" in values:
        instance.points = _decimal(values["points"], "points", errors, low=Decimal(0), high=Decimal("9999.99"), allow_none=True)
    for name, high in (("min_satisfaction", Decimal(100)), ("min_score", Decimal(100)),
                       ("weight_participation", Decimal(100)), ("weight_exams", Decimal(100)),
                       ("weight_appraisal", Decimal(100))):
        if name in values:
            number = _decimal(values[name], name, errors, low=Decimal(0), high=high)
            if number is not None:
                setattr(instance, name, number)
    for name, low, high in (("min_classes", 0, 366), ("consecutive_years", 1, 20), ("sort_order", 0, 1000)):
        if name in values:
            number = _int(values[name])
            if number is None or not low <= number <= high:
                errors[name] = [_("Enter a whole number from %(lo)s to %(hi)s.") % {"lo": low, "hi": high}]
            else:
                setattr(instance, name, number)
    if instance.rule == AwardRule.LEARNER_SCORE and not errors and not (
        instance.weight_participation + instance.weight_exams + instance.weight_appraisal
    ):
        errors["weight_participation"] = [_("At least one weight must be above zero.")]
    _fail(errors)
    instance.save()
    return instance


# --- Awards: nominations, confirmation ---------------------------------------------------------------


def _award_points(award: Award) -> Decimal:
    if award.award_type.points is not None:
        return award.award_type.points
    from credits import selectors as credit_selectors

    return credit_selectors.award_points(award_code=award.award_type.code)


@dataclass
class ComputeSummary:
    year: int
    created: int = 0
    updated: int = 0
    withdrawn: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


def nominations_compute(*, year: int, now: dt.datetime | None = None, award_type: AwardType | None = None) -> ComputeSummary:
    """Compute the nominations of every active rule-based award type for `year`.

    New candidates become nominations; existing nominations get fresh scores; computed
    nominations that no longer qualify are withdrawn (deleted) unless an admin already
    decided them. Confirmed, rejected and revoked rows are never touched. Safe to run
    any number of times.
    """
    now = now or timezone.now()
    summary = ComputeSummary(year=year)
    types = [award_type] if award_type is not None else list(
        AwardType.objects.filter(is_active=True).exclude(rule=AwardRule.MANUAL)
    )
    # Excellent lecturers first: courseware and model-lecturer rules read their results.
    order = {AwardRule.EXCELLENT_LECTURER: 0, AwardRule.YEAR_LECTURERS: 1, AwardRule.LEARNER_SCORE: 1,
             AwardRule.EXCELLENT_COURSEWARE: 2, AwardRule.MODEL_LECTURER: 3}
    for at in sorted(types, key=lambda t: (order.get(t.rule, 9), t.sort_order, t.pk)):
        candidates = selectors.candidates_for(at, year=year, now=now)
        with transaction.atomic():
            existing = {a.person_id: a for a in Award.objects.select_for_update().filter(award_type=at, year=year)}
            wanted = {c.person_id: c for c in candidates}
            units = dict(User.objects.filter(pk__in=[p for p in wanted if p not in existing]).values_list("pk", "unit_id"))
            new_rows = []
            for pid, c in wanted.items():
                row = existing.get(pid)
                if row is None:
                    if units.get(pid) is None:
                        continue  # a person without a unit has no admin to confirm
                    new_rows.append(Award(
                        award_type=at, year=year, person_id=pid, unit_id=units[pid], session_id=c.session_id,
                        score=c.score, basis=c.basis[:300], computed=True, nominated_at=now,
                    ))
                elif row.status == Award.Status.NOMINATED and row.computed and (
                    row.score, row.basis, row.session_id) != (c.score, c.basis[:300], c.session_id):
                    row.score, row.basis, row.session_id = c.score, c.basis[:300], c.session_id
                    row.save(update_fields=["score", "basis", "session"])
                    summary.updated += 1
            Award.objects.bulk_create(new_rows, batch_size=2000)
            stale = [
                a.pk for pid, a in existing.items()
                if pid not in wanted and a.computed and a.status == Award.Status.NOMINATED
            ]
            Award.objects.filter(pk__in=stale).delete()
        summary.created += len(new_rows)
        summary.withdrawn += len(stale)
        summary.by_type[at.code] = len(wanted)
    return summary


@transaction.atomic
def award_nominate(
    *,
    actor: User,
    award_type: AwardType,
    year: int,
    person: User,
    session: Session | None = None,
    basis: str = "",
) -> Award:
    """An admin nominates a person of their scope (e.g. 最佳创新奖 for a class they gave)."""
    if person.unit_id is None or not org_selectors.can_manage_person(actor, person):
        raise PermissionDenied(_("You may only nominate people in units you administer."))
    errors: Errors = {}
    if not award_type.is_active:
        errors["award_type"] = [_("This award type is not in use.")]
    if _int(year) is None or not 2000 <= year <= 2100:
        errors["year"] = [_("Enter a year such as 2025.")]
    basis = (basis or "").strip()
    if len(basis) > 300:
        errors["basis"] = [_("The reason is at most 300 characters.")]
    if session is not None:
        if not selectors.is_speaker(session, person):
            errors["session"] = [_("%(name)s did not give this class.") % {"name": person.name}]
        elif _int(year) is not None and selectors.local_year(session.start) != year:
            errors["session"] = [_("The class was not given in %(year)s.") % {"year": year}]
    if not errors and Award.objects.filter(award_type=award_type, year=year, person=person).exists():
        errors["person"] = [_("%(name)s is already nominated for %(award)s %(year)s.") % {
            "name": person.name, "award": award_type.name, "year": year}]
    _fail(errors)
    return Award.objects.create(
        award_type=award_type, year=year, person=person, unit_id=person.unit_id, session=session,
        basis=basis, computed=False, nominated_by=actor,
    )


def _locked_award(award: Award) -> Award:
    return Award.objects.select_for_update().select_related("award_type", "person", "unit").get(pk=award.pk)


def _require_award_admin(actor: User, award: Award) -> None:
    if not org_selectors.can_manage_unit(actor, award.unit):
        raise PermissionDenied(_("Only an admin of the nominee's unit may decide this award."))


@transaction.atomic
def award_confirm(*, actor: User, award: Award, citation: str = "", now: dt.datetime | None = None) -> Award:
    """Confirm a nomination: the person wins; the award's points are credited once."""
    award = _locked_award(award)
    _require_award_admin(actor, award)
    now = now or timezone.now()
    citation = (citation or "").strip()
    errors: Errors = {}
    if award.status == Award.Status.CONFIRMED:
        errors["status"] = [_("This award was already confirmed on %(when)s.") % {"when": _local(award.decided_at)}]
    elif award.status != Award.Status.NOMINATED:
        errors["status"] = [_("Only a nomination can be confirmed (this one is %(s)s).") % {"s": award.get_status_display()}]
    if len(citation) > 500:
        errors["citation"] = [_("The citation is at most 500 characters.")]
    _fail(errors)
    from credits import services as credit_services

    points = _award_points(award)
    award.status, award.decided_by, award.decided_at, award.citation = Award.Status.CONFIRMED, actor, now, citation
    if points > 0:
        entry = credit_services.credit_award(
            person=award.person, source_kind="award", source_ref=f"evaluations.award:{award.pk}",
            points=points, idempotency_key=f"award:{award.pk}", occurred_at=now, created_by=actor,
            reason="", label=f"{award.award_type.name} {award.year}"[:200],
        )
        award.credit_entry_id = entry.pk
    award.save(update_fields=["status", "decided_by", "decided_at", "citation", "credit_entry_id"])
    notification_send(
        recipients=[award.person],
        title=_("Congratulations: %(award)s %(year)s") % {"award": award.award_type.name, "year": award.year},
        body=citation or _("You have been awarded %(award)s.") % {"award": award.award_type.name},
        link=reverse("evaluations:honours"),
        kind="evaluations.award",
    )
    return award


@transaction.atomic
def award_reject(*, actor: User, award: Award, reason: str = "", now: dt.datetime | None = None) -> Award:
    """Decide against a nomination (it stays, so the next computation does not bring it back)."""
    award = _locked_award(award)
    _require_award_admin(actor, award)
    if award.status != Award.Status.NOMINATED:
        raise ValidationError({"status": [_("Only a nomination can be rejected (this one is %(s)s).") % {
            "s": award.get_status_display()}]})
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise ValidationError({"reason": [_("The reason is at most 500 characters.")]})
    award.status, award.decided_by, award.decided_at = Award.Status.REJECTED, actor, now or timezone.now()
    award.citation = reason
    award.save(update_fields=["status", "decided_by", "decided_at", "citation"])
    return award


@transaction.atomic
def award_revoke(*, actor: User, award: Award, reason: str, now: dt.datetime | None = None) -> Award:
    """Withdraw a confirmed award: its credit is reversed through the ledger."""
    award = _locked_award(award)
    _require_award_admin(actor, award)
    reason = (reason or "").strip()
    errors: Errors = {}
    if award.status != Award.Status.CONFIRMED:
        errors["status"] = [_("Only a confirmed award can be revoked.")]
    if not reason:
        errors["reason"] = [_("Say why the award is revoked: it is shown in the person's ledger.")]
    elif len(reason) > 500:
        errors["reason"] = [_("The reason is at most 500 characters.")]
    _fail(errors)
    if award.credit_entry_id:
        from credits import selectors as credit_selectors
        from credits import services as credit_services

        # Read as the winner (who always sees their own ledger), reversed as a trusted caller.
        entry = credit_selectors.entry_for(award.person, award.credit_entry_id)
        credit_services.credit_reverse(entry=entry, actor=None, reason=reason)
    award.status, award.decided_by, award.decided_at = Award.Status.REVOKED, actor, now or timezone.now()
    award.citation = reason
    award.save(update_fields=["status", "decided_by", "decided_at", "citation"])
    return award


# --- Appraisal grades ----------------------------------------------------------------------------------


@dataclass
class ImportResult:
    """The outcome of an import or a dry run; `errors` non-empty means nothing was written."""

    dry_run: bool
    sheet: str = ""
    errors: list[imports.SheetError] = field(default_factory=list)
    rows: int = 0
    created: int = 0
    updated: int = 0
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def appraisal_import(*, actor: User, file: IO[bytes], filename: str, year: int, dry_run: bool) -> ImportResult:
    """Import yearly appraisal grades (年度考核等次) for people the actor manages.

    The whole sheet is validated first (every row's employee number must name a person
    in the actor's scope; a name, when given, must match); nothing is written if any
    row is wrong. Importing again replaces a person's grade for the year.
    """
    if not org_selectors.scope_for(actor).manage and not actor.is_superuser:
        raise PermissionDenied(_("Only unit administrators may import appraisal grades."))
    if _int(year) is None or not 2000 <= year <= 2100:
        raise ValidationError({"year": [_("Enter a year such as 2025.")]})
    parsed = imports.parse_appraisals(file, filename=filename, year=year)
    result = ImportResult(dry_run=dry_run, sheet=parsed.sheet, errors=list(parsed.errors), rows=len(parsed.rows))
    if result.errors:
        return result
    numbers = [r.employee_no for r in parsed.rows]
    people = {
        p.employee_no: p
        for p in org_selectors.people_in_scope(actor, access="manage").filter(employee_no__in=numbers)
    }
    for row in parsed.rows:
        person = people.get(row.employee_no)
        if person is None:
            result.errors.append(imports.SheetError(parsed.sheet, row.row, "工号", _(
                "No person with employee number %(no)s in the units you administer.") % {"no": row.employee_no}))
        elif row.name and row.name != person.name:
            result.errors.append(imports.SheetError(parsed.sheet, row.row, "姓名", _(
                "%(no)s is %(name)s, not %(given)s.") % {"no": row.employee_no, "name": person.name, "given": row.name}))
    if result.errors:
        return result
    existing = set(AppraisalGrade.objects.filter(year=year, person__in=people.values()).values_list("person_id", flat=True))
    result.updated = sum(1 for r in parsed.rows if people[r.employee_no].pk in existing)
    result.created = len(parsed.rows) - result.updated
    if dry_run:
        return result
    with transaction.atomic():
        now = timezone.now()
        for row in parsed.rows:
            AppraisalGrade.objects.update_or_create(
                person=people[row.employee_no], year=year,
                defaults={"grade": row.grade, "imported_by": actor, "imported_at": now},
            )
    result.applied = True
    return result


# --- Question bank ---------------------------------------------------------------------------------


def _clean_question(kind: str, text: str, explanation: str, tags: Iterable[str], choices: Any) -> tuple[Errors, list[tuple[str, bool]], list[str]]:
    errors: Errors = {}
    if kind not in Question.Kind.values:
        errors["kind"] = [_("Choose single choice, multiple choice or true or false.")]
    if not text:
        errors["text"] = [_("The question is empty.")]
    elif len(text) > 2000:
        errors["text"] = [_("The question is at most 2,000 characters.")]
    if len(explanation) > 2000:
        errors["explanation"] = [_("The explanation is at most 2,000 characters.")]
    clean_tags = []
    for tag in tags or []:
        tag = str(tag).strip()
        if tag and len(tag) > 50:
            errors["tags"] = [_("A tag is at most 50 characters.")]
        elif tag and tag not in clean_tags:
            clean_tags.append(tag)
    cleaned: list[tuple[str, bool]] = []
    if not isinstance(choices, list):
        errors["choices"] = [_("Give the options as a list.")]
        return errors, cleaned, clean_tags
    for item in choices:
        text_ = str(item.get("text", "")).strip() if isinstance(item, dict) else ""
        correct = item.get("is_correct") if isinstance(item, dict) else None
        if not text_ or len(text_) > 500 or not isinstance(correct, bool):
            errors["choices"] = [_("Every option needs a text of at most 500 characters and whether it is right.")]
            return errors, cleaned, clean_tags
        cleaned.append((text_, correct))
    right = sum(1 for _t, c in cleaned if c)
    if kind == Question.Kind.TRUE_FALSE:
        if len(cleaned) != 2 or right != 1:
            errors["choices"] = [_("A true-or-false question has two options, exactly one of them right.")]
    elif kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        if not 2 <= len(cleaned) <= 8:
            errors["choices"] = [_("A choice question has 2 to 8 options.")]
        elif kind == Question.Kind.SINGLE and right != 1:
            errors["choices"] = [_("A single-choice question has exactly one right option (%(n)s marked).") % {"n": right}]
        elif kind == Question.Kind.MULTIPLE and right < 1:
            errors["choices"] = [_("Mark at least one right option.")]
    if len({t for t, _c in cleaned}) != len(cleaned):
        errors["choices"] = [_("Two options have the same text.")]
    return errors, cleaned, clean_tags


def _tags(names: list[str]) -> list[QuestionTag]:
    existing = {t.name: t for t in QuestionTag.objects.filter(name__in=names)}
    missing = [QuestionTag(name=n) for n in names if n not in existing]
    if missing:
        QuestionTag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.name: t for t in QuestionTag.objects.filter(name__in=names)}
    return [existing[n] for n in names]


@transaction.atomic
def question_save(
    *,
    actor: User,
    unit: OrgUnit,
    kind: str,
    text: str,
    choices: list[dict[str, Any]],
    explanation: str = "",
    tags: Iterable[str] = (),
    question: Question | None = None,
    is_active: bool = True,
) -> Question:
    """Add a question to a unit's bank, or change one.

    A question that was already drawn into an attempt keeps its kind and options (they
    grade that attempt); change its text, explanation or tags, or retire it and add a
    new one.
    """
    _require_manage_unit(actor, unit, _("Only an admin of the unit may edit its question bank."))
    if question is not None:
        _require_manage_unit(actor, question.unit, _("Only an admin of the unit may edit its question bank."))
    text, explanation = (text or "").strip(), (explanation or "").strip()
    errors, cleaned, tag_names = _clean_question(kind, text, explanation, tags, choices)
    used = question is not None and AttemptQuestion.objects.filter(question=question).exists()
    if used and not errors:
        current = [(c.text, c.is_correct) for c in question.choices.all()]
        if kind != question.kind or cleaned != current:
            errors["choices"] = [_(
                "This question was already used in exams, so its type and options cannot change. "
                "Retire it and add a new question instead."
            )]
        if unit.pk != question.unit_id:
            errors["unit"] = [_("A question used in exams stays in its bank.")]
    if not isinstance(is_active, bool):
        errors["is_active"] = [_("Choose yes or no.")]
    _fail(errors)
    if question is None:
        question = Question.objects.create(
            unit=unit, kind=kind, text=text, explanation=explanation, created_by=actor, is_active=is_active
        )
    else:
        question.unit, question.kind, question.text = unit, kind, text
        question.explanation, question.is_active = explanation, is_active
        question.save(update_fields=["unit", "kind", "text", "explanation", "is_active"])
    if not used:
        question.choices.all().delete()
        Choice.objects.bulk_create(
            [Choice(question=question, text=t, is_correct=c, sort_order=i) for i, (t, c) in enumerate(cleaned)]
        )
    question.tags.set(_tags(tag_names))
    return question


def questions_import(
    *, actor: User, unit: OrgUnit, file: IO[bytes], filename: str, dry_run: bool
) -> ImportResult:
    """Import questions from an .xlsx sheet into a unit's bank: all rows or none.

    Every row is checked (type, text, options, answer, tags) and so is the bank (a
    question already in it is an error, so importing the same file twice adds nothing).
    """
    _require_manage_unit(actor, unit, _("Only an admin of the unit may edit its question bank."))
    parsed = imports.parse_questions(file, filename=filename)
    result = ImportResult(dry_run=dry_run, sheet=parsed.sheet, errors=list(parsed.errors), rows=len(parsed.rows))
    if result.errors:
        return result
    texts = [row.text for row in parsed.rows]
    already = dict(Question.objects.filter(unit=unit, text__in=texts).values_list("text", "pk"))
    for row in parsed.rows:
        if row.text in already:
            result.errors.append(imports.SheetError(parsed.sheet, row.row, "题目", _(
                "This question is already in the bank (question %(id)s).") % {"id": already[row.text]}))
    if result.errors:
        return result
    result.created = len(parsed.rows)
    if dry_run:
        return result
    with transaction.atomic():
        tags = {t.name: t for t in _tags(sorted({tag for row in parsed.rows for tag in row.tags}))}
        now = timezone.now()
        questions = Question.objects.bulk_create([
            Question(unit=unit, kind=row.kind, text=row.text, explanation=row.explanation, created_by=actor, created_at=now)
            for row in parsed.rows
        ])
        if any(q.pk is None for q in questions):  # backends that do not return ids
            by_text = dict(Question.objects.filter(unit=unit, text__in=texts).values_list("text", "pk"))
            for q in questions:
                q.pk = by_text[q.text]
        Choice.objects.bulk_create([
            Choice(question=q, text=t, is_correct=c, sort_order=i)
            for q, row in zip(questions, parsed.rows, strict=True)
            for i, (t, c) in enumerate(row.choices)
        ])
        through = Question.tags.through
        through.objects.bulk_create([
            through(question_id=q.pk, questiontag_id=tags[name].pk)
            for q, row in zip(questions, parsed.rows, strict=True)
            for name in row.tags
        ])
    result.applied = True
    return result


# --- Exams ---------------------------------------------------------------------------------------------

EXAM_LOCKED_AFTER_ATTEMPTS = ("unit", "question_count", "time_limit_minutes", "opens_at", "attempts_allowed",
                              "pass_percent", "points_on_pass", "tags")


@transaction.atomic
def exam_save(
    *,
    actor: User,
    unit: OrgUnit,
    title: str,
    question_count: int,
    time_limit_minutes: int,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    description: str = "",
    tags: Iterable[QuestionTag] = (),
    attempts_allowed: int = 1,
    pass_percent: int = 60,
    points_on_pass: Decimal | None = None,
    counts_for_awards: bool = False,
    exam: Exam | None = None,
) -> Exam:
    """Create or change an exam. Once someone sat it, only its title, description and
    closing time (not earlier than now) can change: the rest decided their grade."""
    _require_manage_unit(actor, unit, _("Only an admin of the unit may set its exams."))
    if exam is not None:
        _require_manage_unit(actor, exam.unit, _("Only an admin of the unit may set its exams."))
    errors: Errors = {}
    title, description = (title or "").strip(), (description or "").strip()
    if not title or len(title) > 200:
        errors["title"] = [_("The title is 1 to 200 characters.")]
    for name, value, low, high in (
        ("question_count", question_count, 1, 200),
        ("time_limit_minutes", time_limit_minutes, 1, 600),
        ("attempts_allowed", attempts_allowed, 1, 20),
        ("pass_percent", pass_percent, 0, 100),
    ):
        if _int(value) is None or not low <= value <= high:
            errors[name] = [_("Enter a whole number from %(lo)s to %(hi)s.") % {"lo": low, "hi": high}]
    for name, value in (("opens_at", opens_at), ("closes_at", closes_at)):
        if not isinstance(value, dt.datetime) or timezone.is_naive(value):
            errors[name] = [_("Give a date and time.")]
    if "opens_at" not in errors and "closes_at" not in errors and closes_at <= opens_at:
        errors["closes_at"] = [_("The exam must close after it opens.")]
    if points_on_pass is not None:
        points_on_pass = _decimal(points_on_pass, "points_on_pass", errors, low=Decimal(0), high=Decimal("999.99"))
    if not isinstance(counts_for_awards, bool):
        errors["counts_for_awards"] = [_("Choose yes or no.")]
    tags = list(tags)
    if exam is not None and exam.attempts.exists() and not errors:
        old_tags = {t.pk for t in exam.tags.all()}
        changed = [
            name for name, new in (
                ("unit", unit.pk != exam.unit_id), ("question_count", question_count != exam.question_count),
                ("time_limit_minutes", time_limit_minutes != exam.time_limit_minutes),
                ("opens_at", opens_at != exam.opens_at), ("attempts_allowed", attempts_allowed != exam.attempts_allowed),
                ("pass_percent", pass_percent != exam.pass_percent), ("points_on_pass", points_on_pass != exam.points_on_pass),
                ("tags", {t.pk for t in tags} != old_tags),
            ) if new
        ]
        for name in changed:
            errors[name] = [_("People have already sat this exam, so this cannot change.")]
        if closes_at != exam.closes_at and closes_at < timezone.now():
            errors["closes_at"] = [_("An exam people have sat cannot be closed in the past.")]
    _fail(errors)
    exam = exam or Exam(created_by=actor, status=Exam.Status.DRAFT)
    exam.unit, exam.title, exam.description = unit, title, description
    exam.question_count, exam.time_limit_minutes = question_count, time_limit_minutes
    exam.opens_at, exam.closes_at, exam.attempts_allowed = opens_at, closes_at, attempts_allowed
    exam.pass_percent, exam.points_on_pass, exam.counts_for_awards = pass_percent, points_on_pass, counts_for_awards
    exam.save()
    exam.tags.set(tags)
    return exam


@transaction.atomic
def exam_publish(*, actor: User, exam: Exam, notify: bool = True) -> Exam:
    """Make a draft exam visible to its audience; it needs enough questions to draw from."""
    exam = Exam.objects.select_for_update().select_related("unit").get(pk=exam.pk)
    _require_manage_unit(actor, exam.unit, _("Only an admin of the unit may publish its exams."))
    if exam.status == Exam.Status.PUBLISHED:
        return exam
    available = selectors.pool_size(exam)
    errors: Errors = {}
    if available < exam.question_count:
        errors["question_count"] = [_(
            "Each attempt draws %(n)s questions, but the banks hold only %(have)s matching active questions."
        ) % {"n": exam.question_count, "have": available}]
    if exam.closes_at <= timezone.now():
        errors["closes_at"] = [_("The exam has already closed; move its closing time first.")]
    _fail(errors)
    exam.status = Exam.Status.PUBLISHED
    exam.save(update_fields=["status"])
    if notify:
        from evaluations.tasks import notify_exam_published

        exam_id = exam.pk
        transaction.on_commit(lambda: notify_exam_published.delay(exam_id))
    return exam


def exam_announce(*, exam_id: int) -> int:
    """Tell the exam's audience it is open (called by the task after publishing)."""
    exam = Exam.objects.select_related("unit").get(pk=exam_id)
    if exam.status != Exam.Status.PUBLISHED:
        return 0
    people = User.objects.filter(is_active=True, unit__path__startswith=exam.unit.path)
    count = 0
    batch: list[User] = []
    for person in people.iterator(chunk_size=2000):
        batch.append(person)
        if len(batch) >= 2000:
            count += len(notification_send(
                recipients=batch, title=_("Exam open: %(t)s") % {"t": exam.title},
                body=_("Open from %(a)s to %(b)s.") % {"a": _local(exam.opens_at), "b": _local(exam.closes_at)},
                link=reverse("evaluations:exam_detail", args=[exam.pk]), kind="evaluations.exam",
            ))
            batch = []
    if batch:
        count += len(notification_send(
            recipients=batch, title=_("Exam open: %(t)s") % {"t": exam.title},
            body=_("Open from %(a)s to %(b)s.") % {"a": _local(exam.opens_at), "b": _local(exam.closes_at)},
            link=reverse("evaluations:exam_detail", args=[exam.pk]), kind="evaluations.exam",
        ))
    return count


@transaction.atomic
def exam_copy(*, actor: User, exam: Exam, title: str, opens_at: dt.datetime, closes_at: dt.datetime) -> Exam:
    """A draft copy of an exam with a new title and window — next month's 全员法制网上月考."""
    source = Exam.objects.select_related("unit").get(pk=exam.pk)
    copy = exam_save(
        actor=actor, unit=source.unit, title=title, description=source.description, tags=list(source.tags.all()),
        question_count=source.question_count, time_limit_minutes=source.time_limit_minutes, opens_at=opens_at,
        closes_at=closes_at, attempts_allowed=source.attempts_allowed, pass_percent=source.pass_percent,
        points_on_pass=source.points_on_pass, counts_for_awards=source.counts_for_awards,
    )
    return copy


@transaction.atomic
def exam_withdraw(*, actor: User, exam: Exam) -> Exam:
    """Take an exam away from its audience (results already earned stay)."""
    exam = Exam.objects.select_for_update().select_related("unit").get(pk=exam.pk)
    _require_manage_unit(actor, exam.unit, _("Only an admin of the unit may withdraw its exams."))
    exam.status = Exam.Status.ARCHIVED
    exam.save(update_fields=["status"])
    return exam


@transaction.atomic
def attempt_start(*, exam: Exam, person: User, now: dt.datetime | None = None) -> Attempt:
    """Start (or resume) an attempt: draw the questions and shuffle their options.

    An unfinished attempt is returned as it is (its clock keeps running). Refused when
    the exam is not open, the person is not in its audience, or no attempt is left.
    """
    now = now or timezone.now()
    exam = Exam.objects.select_related("unit").get(pk=exam.pk)
    errors: Errors = {}
    if not selectors.in_exam_audience(exam, person):
        raise PermissionDenied(_("This exam is not for your unit."))
    attempts_expire_due(now=now, person=person, exam=exam)
    current = Attempt.objects.filter(exam=exam, person=person, status=Attempt.Status.IN_PROGRESS).first()
    if current is not None:
        return current
    if exam.status != Exam.Status.PUBLISHED or not exam.opens_at <= now < exam.closes_at:
        errors["exam"] = [_("The exam is open from %(a)s to %(b)s.") % {"a": _local(exam.opens_at), "b": _local(exam.closes_at)}]
    used = Attempt.objects.filter(exam=exam, person=person).count()
    if used >= exam.attempts_allowed:
        errors["exam"] = [_("You have used all %(n)s attempts of this exam.") % {"n": exam.attempts_allowed}]
    _fail(errors)
    pool = list(selectors.question_pool(exam).values_list("pk", flat=True))
    if len(pool) < exam.question_count:
        raise ValidationError({"exam": [_("The exam cannot be drawn now (too few questions); tell its admin.")]})
    drawn = _rng.sample(pool, exam.question_count)
    choice_ids: dict[int, list[int]] = {}
    for qid, cid in Choice.objects.filter(question_id__in=drawn).values_list("question_id", "pk"):
        choice_ids.setdefault(qid, []).append(cid)
    deadline = min(now + dt.timedelta(minutes=exam.time_limit_minutes), exam.closes_at)
    try:
        with transaction.atomic():
            attempt = Attempt.objects.create(
                exam=exam, person=person, unit_id=person.unit_id, number=used + 1,
                started_at=now, deadline=deadline, total=len(drawn),
            )
    except IntegrityError:
        # A second click started the same attempt meanwhile: resume that one.
        return Attempt.objects.get(exam=exam, person=person, status=Attempt.Status.IN_PROGRESS)
    items = []
    for position, qid in enumerate(drawn, start=1):
        order = list(choice_ids.get(qid, []))
        _rng.shuffle(order)
        items.append(AttemptQuestion(attempt=attempt, question_id=qid, position=position, choice_order=order))
    AttemptQuestion.objects.bulk_create(items)
    return attempt


def _clean_answers(attempt: Attempt, answers: Any) -> tuple[dict[int, list[int]], Errors]:
    """{question id: [choice ids]} checked against the attempt: questions must be drawn in
    it and options must belong to them (single and true/false: exactly one)."""
    items = {i.question_id: i for i in attempt.items.select_related("question")}
    errors: list[str] = []
    cleaned: dict[int, list[int]] = {}
    if not isinstance(answers, dict):
        return {}, {"answers": [_("Answers are a mapping of question to chosen options.")]}
    for key, value in answers.items():
        try:
            qid = int(key)
        except (TypeError, ValueError):
            qid = None
        if qid is None or qid not in items:
            errors.append(_("Question %(q)s is not part of this attempt.") % {"q": str(key)[:20]})
            continue
        item = items[qid]
        if value is None or value == []:
            cleaned[qid] = []
            continue
        ids = value if isinstance(value, list) else [value]
        if not all(_int(v) is not None for v in ids) or len(set(ids)) != len(ids):
            errors.append(_("Question %(n)s: give the chosen options by their ids.") % {"n": item.position})
            continue
        if not set(ids) <= set(item.choice_order):
            errors.append(_("Question %(n)s: an option chosen is not one of its options.") % {"n": item.position})
            continue
        if item.question.kind != Question.Kind.MULTIPLE and len(ids) > 1:
            errors.append(_("Question %(n)s: choose one option.") % {"n": item.position})
            continue
        cleaned[qid] = sorted(ids)
    return cleaned, ({"answers": errors} if errors else {})


def _check_live(attempt: Attempt, now: dt.datetime) -> None:
    if attempt.status != Attempt.Status.IN_PROGRESS:
        raise ValidationError({"attempt": [_("This attempt was already submitted; answers can no longer change.")]})
    if now > attempt.deadline + dt.timedelta(seconds=settings.EVALUATIONS_EXAM_GRACE_SECONDS):
        raise ValidationError(
            {"attempt": [_("Time ran out at %(when)s; answers sent later are not accepted.") % {"when": _local(attempt.deadline)}]}
        )


def _own_attempt(attempt: Attempt, person: User) -> Attempt:
    locked = Attempt.objects.select_for_update().select_related("exam").get(pk=attempt.pk)
    if locked.person_id != person.pk:
        raise PermissionDenied(_("This is not your attempt."))
    return locked


@transaction.atomic
def attempt_answer(*, attempt: Attempt, person: User, answers: dict[Any, Any], now: dt.datetime | None = None) -> Attempt:
    """Save answers during an attempt (the page saves as the person goes)."""
    now = now or timezone.now()
    attempt = _own_attempt(attempt, person)
    _check_live(attempt, now)
    cleaned, errors = _clean_answers(attempt, answers)
    _fail(errors)
    for item in attempt.items.filter(question_id__in=list(cleaned)):
        item.selected = cleaned[item.question_id]
        item.save(update_fields=["selected"])
    return attempt


@transaction.atomic
def attempt_submit(
    *, attempt: Attempt, person: User, answers: dict[Any, Any] | None = None, now: dt.datetime | None = None
) -> Attempt:
    """Hand in an attempt with its last answers and grade it. Refused, changing nothing,
    after the deadline, a second time, or with an answer for a question not drawn."""
    now = now or timezone.now()
    attempt = _own_attempt(attempt, person)
    _check_live(attempt, now)
    cleaned, errors = _clean_answers(attempt, answers or {})
    _fail(errors)
    for item in attempt.items.filter(question_id__in=list(cleaned)):
        item.selected = cleaned[item.question_id]
        item.save(update_fields=["selected"])
    return _grade(attempt, status=Attempt.Status.SUBMITTED, now=now)


def _grade(attempt: Attempt, *, status: str, now: dt.datetime) -> Attempt:
    """Mark each answer, the score and pass; credit a pass once and tell the hooks."""
    exam = attempt.exam
    items = list(attempt.items.all())
    correct_ids: dict[int, set[int]] = {}
    for qid, cid in Choice.objects.filter(question_id__in=[i.question_id for i in items], is_correct=True).values_list(
        "question_id", "pk"
    ):
        correct_ids.setdefault(qid, set()).add(cid)
    right = 0
    for item in items:
        item.is_correct = bool(item.selected) and set(item.selected) == correct_ids.get(item.question_id, set())
        right += item.is_correct
    AttemptQuestion.objects.bulk_update(items, ["is_correct"])
    attempt.correct, attempt.total = right, len(items)
    attempt.percent = selectors.percent(right, len(items)) or Decimal("0.00")
    attempt.passed = attempt.percent >= exam.pass_percent
    attempt.status = status
    attempt.submitted_at = min(now, attempt.deadline) if status == Attempt.Status.EXPIRED else now
    if attempt.passed:
        points = exam.points_on_pass
        if points is None:
            from credits import selectors as credit_selectors

            points = credit_selectors.exam_points()
        if points > 0:
            from credits import services as credit_services

            entry = credit_services.credit_award(
                person=attempt.person, source_kind="exam", source_ref=f"evaluations.exam:{exam.pk}",
                points=points, idempotency_key=f"exam:{exam.pk}:{attempt.person_id}",
                occurred_at=attempt.submitted_at, created_by=None, reason="", label=exam.title[:200],
            )
            attempt.credit_entry_id = entry.pk
    attempt.save(update_fields=["correct", "total", "percent", "passed", "status", "submitted_at", "credit_entry_id"])
    if attempt.passed:
        for dotted in settings.EVALUATIONS_ON_EXAM_PASSED:
            import_string(dotted)(person=attempt.person, exam_id=exam.pk, passed_at=attempt.submitted_at)
    return attempt


def attempts_expire_due(*, now: dt.datetime | None = None, person: User | None = None, exam: Exam | None = None) -> int:
    """Grade attempts whose time ran out without a submission, on their saved answers."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.EVALUATIONS_EXAM_GRACE_SECONDS)
    due = Attempt.objects.filter(status=Attempt.Status.IN_PROGRESS, deadline__lt=cutoff)
    if person is not None:
        due = due.filter(person=person)
    if exam is not None:
        due = due.filter(exam=exam)
    graded = 0
    for pk in list(due.values_list("pk", flat=True)[:5000]):
        with transaction.atomic():
            attempt = Attempt.objects.select_for_update().select_related("exam", "person").get(pk=pk)
            if attempt.status == Attempt.Status.IN_PROGRESS:
                _grade(attempt, status=Attempt.Status.EXPIRED, now=now)
                graded += 1
    return graded
