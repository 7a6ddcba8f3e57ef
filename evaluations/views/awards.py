"""Award pages: the honours board (荣誉榜) for everyone, and for unit admins the
nominations to decide, manual nominations, recomputation and the appraisal import."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from evaluations import selectors, services
from evaluations.forms import AppraisalImportForm, DecisionForm, NominateForm, apply_errors
from evaluations.models import Award, AwardType
from evaluations.views.common import first_message, require_admin, year_param
from org import selectors as org_selectors


@login_required
def honours(request: HttpRequest) -> HttpResponse:
    """荣誉榜: confirmed awards of the person's part of the organisation, by year; and theirs."""
    rows = selectors.honours_visible_to(request.user)
    years = sorted(set(rows.values_list("year", flat=True)), reverse=True)
    year = request.GET.get("year")
    year = int(year) if year and year.isdigit() else (years[0] if years else timezone.localdate().year)
    page = Paginator(rows.filter(year=year), 60).get_page(request.GET.get("page"))
    return render(request, "evaluations/honours.html", {
        "page": page, "year": year, "years": years or [year],
        "mine": selectors.awards_of(request.user),
    })


@login_required
def award_admin(request: HttpRequest) -> HttpResponse:
    """Nominations and awards of the admin's scope, filtered by year, award and status."""
    require_admin(request)
    year = year_param(request)
    awards = selectors.awards_managed_by(request.user).filter(year=year)
    type_id = request.GET.get("type", "")
    if type_id.isdigit():
        awards = awards.filter(award_type_id=int(type_id))
    status_ = request.GET.get("status", Award.Status.NOMINATED)
    if status_ in Award.Status.values:
        awards = awards.filter(status=status_)
    awards = awards.order_by("award_type__sort_order", "award_type_id", "-score", "unit__path", "pk")
    page = Paginator(awards, 50).get_page(request.GET.get("page"))
    return render(request, "evaluations/award_admin.html", {
        "page": page, "year": year, "types": AwardType.objects.all(), "type_id": type_id,
        "status": status_, "statuses": Award.Status.choices,
        "years": range(timezone.localdate().year, timezone.localdate().year - 6, -1),
        "nominate_form": NominateForm(initial={"year": year}),
    })


def _decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    award = get_object_or_404(selectors.awards_managed_by(request.user), pk=pk)
    form = DecisionForm(request.POST)
    text = form.cleaned_data["text"] if form.is_valid() else ""
    try:
        if action == "confirm":
            services.award_confirm(actor=request.user, award=award, citation=text)
            messages.success(request, _("%(name)s won %(award)s.") % {"name": award.person.name, "award": award.award_type.name})
        elif action == "reject":
            services.award_reject(actor=request.user, award=award, reason=text)
            messages.success(request, _("The nomination was rejected."))
        else:
            services.award_revoke(actor=request.user, award=award, reason=text)
            messages.success(request, _("The award was revoked and its credit reversed."))
    except ValidationError as error:
        messages.error(request, first_message(error))
    return redirect(f"{reverse('evaluations:award_admin')}?year={award.year}&status={award.status}")


@login_required
@require_POST
def award_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "confirm")


@login_required
@require_POST
def award_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "reject")


@login_required
@require_POST
def award_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "revoke")


@login_required
@require_POST
def award_nominate(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    form = NominateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an award, a year and a person's employee number."))
        return redirect("evaluations:award_admin")
    person = org_selectors.people_in_scope(request.user, access="manage").filter(
        employee_no=form.cleaned_data["employee_no"].strip()
    ).first()
    if person is None:
        messages.error(request, _("No person with that employee number in the units you administer."))
        return redirect("evaluations:award_admin")
    try:
        services.award_nominate(
            actor=request.user, award_type=form.cleaned_data["award_type"], year=form.cleaned_data["year"],
            person=person, basis=form.cleaned_data["basis"],
        )
    except ValidationError as error:
        messages.error(request, first_message(error))
    else:
        messages.success(request, _("%(name)s was nominated.") % {"name": person.name})
    return redirect(f"{reverse('evaluations:award_admin')}?year={form.cleaned_data['year']}")


@login_required
@require_POST
def award_compute(request: HttpRequest) -> HttpResponse:
    """Recompute the nominations of a year now (in the background with a worker)."""
    require_admin(request)
    raw = str(request.POST.get("year", ""))
    year = int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else timezone.localdate().year
    from evaluations.tasks import compute_nominations

    compute_nominations.delay(year)
    messages.success(request, _("The nominations of %(y)s are being computed.") % {"y": year})
    return redirect(f"{reverse('evaluations:award_admin')}?year={year}")


@login_required
@require_http_methods(["GET", "POST"])
def appraisal_import(request: HttpRequest) -> HttpResponse:
    """Import yearly appraisal grades (年度考核等次) from .xlsx: all rows or none."""
    require_admin(request)
    form = AppraisalImportForm(request.POST or None, request.FILES or None,
                               initial={"year": timezone.localdate().year - 1, "dry_run": True})
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = services.appraisal_import(
                actor=request.user, file=upload, filename=upload.name, year=form.cleaned_data["year"],
                dry_run=form.cleaned_data["dry_run"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            if result.applied:
                messages.success(request, _("%(n)s appraisal grades imported.") % {"n": result.rows})
    recent = selectors.appraisals_visible_to(request.user).order_by("-imported_at", "-pk")[:20]
    return render(request, "evaluations/appraisal_import.html", {"form": form, "result": result, "recent": recent},
                  status=400 if result is not None and result.errors else 200)
