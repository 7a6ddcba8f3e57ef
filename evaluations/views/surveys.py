"""Survey pages: the hub (my surveys, my classes' results, classes in scope), the survey
form, a class's results with export, lecturer statistics, rating learners, and the
unit's survey question set."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from evaluations import selectors, services
from evaluations.forms import AnonymityForm, RatingForm, SurveyForm, TemplateForm, apply_errors
from evaluations.models import Survey
from evaluations.views.common import first_message, require_admin, sheet_response, year_param
from org import selectors as org_selectors
from org.models import User
from sessions import selectors as session_selectors
from sessions.models import Session


def _visible_session(request: HttpRequest, pk: int) -> Session:
    return get_object_or_404(
        session_selectors.sessions_visible_to(request.user).select_related("host_unit", "track"), pk=pk
    )


@login_required
def survey_list(request: HttpRequest) -> HttpResponse:
    """测评: the surveys I may still fill in, and the results of the classes I may see."""
    user = request.user
    surveys = Paginator(selectors.surveys_visible_to(user), 30).get_page(request.GET.get("page"))
    return render(request, "evaluations/survey_list.html", {
        "pending": selectors.pending_surveys_for(user),
        "answered": selectors.answered_sessions_of(user)[:10],
        "page": surveys,
        "now": timezone.now(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def survey_form(request: HttpRequest, pk: int) -> HttpResponse:
    """The satisfaction survey of a class (课程质量满意度测评表)."""
    session = _visible_session(request, pk)
    if session.status != Session.Status.CLOSED:
        messages.info(request, _("The survey opens when the class has been closed."))
        return redirect("lectures:session_detail", pk=pk)
    survey = services.survey_open(session=session)
    user = request.user
    blocked = ""
    if selectors.is_speaker(session, user):
        blocked = _("You gave this class, so you cannot rate it.")
    elif not selectors.is_attendee(session, user):
        blocked = _("Only people who attended the class can rate it.")
    elif selectors.has_responded(survey, user):
        blocked = _("You have already rated this class. Thank you!")
    elif not survey.is_open():
        blocked = _("The survey closed on %(when)s.") % {
            "when": timezone.localtime(survey.closes_at).strftime("%Y-%m-%d %H:%M")}
    questions = list(survey.questions.all())
    form = SurveyForm(request.POST or None, questions=questions)
    if request.method == "POST" and not blocked and form.is_valid():
        try:
            services.survey_submit(
                session=session, person=user, answers=form.answers(), comment=form.cleaned_data["comment"]
            )
        except ValidationError as error:
            apply_errors(form, error, {"session": "__all__"})
        else:
            messages.success(request, _("Thank you: your answers were recorded anonymously."))
            return redirect("evaluations:survey_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "evaluations/survey_form.html",
                  {"session": session, "survey": survey, "form": form, "blocked": blocked}, status=status)


def _results_session(request: HttpRequest, pk: int) -> Session:
    session = get_object_or_404(
        selectors.results_sessions_visible_to(request.user).select_related("host_unit", "track"), pk=pk
    )
    return session


@login_required
def survey_results(request: HttpRequest, pk: int) -> HttpResponse:
    """A class's results: response and satisfaction rates, averages, comments — aggregates
    only, once the survey closed with enough answers. `?export=xlsx|csv` downloads them."""
    session = _results_session(request, pk)
    survey = Survey.objects.filter(session=session).first()
    if survey is None:
        survey = services.survey_open(session=session)
    results = selectors.survey_results(survey)
    fmt = request.GET.get("export")
    if fmt in ("xlsx", "csv"):
        if not results.available:
            messages.error(request, results.reason)
            return redirect("evaluations:survey_results", pk=pk)
        return sheet_response(fmt, f"survey-{session.pk}", selectors.survey_results_header(),
                              selectors.survey_results_rows(results))
    return render(request, "evaluations/survey_results.html", {
        "session": session, "survey": survey, "results": results,
        "can_manage": org_selectors.can_manage_unit(request.user, session.host_unit),
        "speakers": session_selectors.speakers_of(session),
    })


@login_required
@require_POST
def survey_anonymity(request: HttpRequest, pk: int) -> HttpResponse:
    session = _results_session(request, pk)
    survey = get_object_or_404(Survey, session=session)
    form = AnonymityForm(request.POST)
    form.is_valid()
    try:
        services.survey_set_anonymity(actor=request.user, survey=survey, anonymous=form.cleaned_data.get("anonymous", False))
    except ValidationError as error:
        messages.error(request, first_message(error))
    else:
        messages.success(request, _("The survey's anonymity was changed."))
    return redirect("evaluations:survey_results", pk=pk)


@login_required
def lecturer_stats(request: HttpRequest) -> HttpResponse:
    """Per lecturer per year: classes given, satisfaction, attendance (own, or in scope)."""
    year = year_param(request)
    stats = selectors.lecturer_stats_visible_to(request.user, year=year)
    page = Paginator(stats, 50).get_page(request.GET.get("page"))
    return render(request, "evaluations/lecturer_stats.html", {
        "page": page, "year": year, "years": range(timezone.localdate().year, timezone.localdate().year - 6, -1),
    })


@login_required
@require_http_methods(["GET", "POST"])
def participation(request: HttpRequest, pk: int) -> HttpResponse:
    """A lecturer rates the participation of the attendees of a class they gave."""
    session = _visible_session(request, pk)
    if not selectors.is_speaker(session, request.user):
        raise PermissionDenied
    if request.method == "POST":
        form = RatingForm(request.POST)
        if form.is_valid():
            person = User.objects.filter(pk=form.cleaned_data["person"]).first()
            if person is None:
                raise Http404
            try:
                services.participation_rate(
                    rater=request.user, session=session, person=person,
                    score=form.cleaned_data["score"], note=form.cleaned_data["note"],
                )
            except ValidationError as error:
                messages.error(request, first_message(error))
            else:
                messages.success(request, _("Rated %(name)s.") % {"name": person.name})
        else:
            messages.error(request, _("Choose a score from 1 to 5."))
        return redirect("evaluations:participation", pk=pk)
    rows = selectors.participation_sheet(session, request.user)
    return render(request, "evaluations/participation.html", {
        "session": session, "rows": rows, "closed": session.status == Session.Status.CLOSED,
    })


@login_required
@require_http_methods(["GET", "POST"])
def survey_templates(request: HttpRequest) -> HttpResponse:
    """The survey question set of a unit the admin manages (units below inherit it)."""
    require_admin(request)
    templates = list(selectors.survey_templates_managed_by(request.user).order_by("unit__path"))
    if request.method == "POST" and request.POST.get("delete"):
        template = next((t for t in templates if str(t.pk) == request.POST["delete"]), None)
        if template is None:
            raise Http404
        services.survey_template_delete(actor=request.user, template=template)
        messages.success(request, _("The unit now uses the question set of the unit above it."))
        return redirect("evaluations:survey_templates")
    initial = {}
    edit = request.GET.get("unit")
    if edit and edit.isdigit():
        template = next((t for t in templates if t.unit_id == int(edit)), None)
        if template:
            initial = {"unit": template.unit_id, "name": template.name}
            for i, q in enumerate(template.questions.all()):
                initial[f"q{i}"] = q.text
                if q.is_overall:
                    initial["overall"] = i
    else:
        from evaluations.selectors import DEFAULT_QUESTIONS

        initial = {"name": _("Course quality satisfaction survey")}
        for i, (text, overall) in enumerate(DEFAULT_QUESTIONS):
            initial[f"q{i}"] = str(text)
            if overall:
                initial["overall"] = i
    form = TemplateForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.survey_template_save(
                actor=request.user, unit=form.cleaned_data["unit"], name=form.cleaned_data["name"],
                questions=form.questions(),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The question set was saved; surveys opened from now on use it."))
            return redirect("evaluations:survey_templates")
    return render(request, "evaluations/survey_templates.html", {"form": form, "templates": templates})
