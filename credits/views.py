"""Pages of credits: my ledger, a person's ledger, rankings, compliance, adjustments, rules.

Thin: parse the request, call one selector or service, render. Scoping and visibility
live in `credits.selectors`; rules (mandatory reasons, inactive people, scope) in
`credits.services`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from credits import selectors, services
from credits.forms import (
    AdjustmentForm,
    AwardRuleForm,
    PolicyForm,
    RankingPolicyForm,
    RequirementForm,
    ReverseForm,
    SourceRuleForm,
)
from credits.models import (
    AwardRule,
    PeriodKind,
    RankingPolicy,
    RankingVisibility,
    Requirement,
    SourceKind,
    SourceRule,
)
from credits.periods import Period, current_periods, parse_period
from org import selectors as org_selectors
from org.models import OrgUnit, User

PAGE_SIZE = 30


def _apply_errors(form, error: ValidationError) -> None:
    for field, msgs in error.message_dict.items():
        form.add_error(field if field in form.fields else None, msgs)


def _year_choices() -> list[int]:
    this_year = current_periods()[0].year
    years = services.ledger_years()
    first = min([*years, this_year - 1])
    return list(range(this_year, first - 1, -1))


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


# --- Ledgers ---------------------------------------------------------------------------------


def _ledger_context(request: HttpRequest, viewer: User, person: User) -> dict:
    this_year = current_periods()[0].year
    year = _int_or_none(request.GET.get("year")) or this_year
    if year not in _year_choices():
        year = this_year
    period = Period(PeriodKind.YEAR, year)
    entries = selectors.ledger_for(viewer, person).filter(
        occurred_at__gte=period.start, occurred_at__lt=period.end
    )
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    summary = selectors.person_year_summary(person, year)
    rank_visible = True
    if person.unit_id:
        policy = selectors.ranking_policy_for(selectors.root_of(person.unit).pk)
        rank_visible = policy.visibility != RankingVisibility.OFF or viewer.pk != person.pk
    return {
        "person": person,
        "summary": summary,
        "rank_visible": rank_visible,
        "page": page,
        "year": year,
        "years": _year_choices(),
        "can_reverse": org_selectors.can_manage_person(viewer, person),
        "is_self": viewer.pk == person.pk,
    }


@login_required
def my_credits(request: HttpRequest) -> HttpResponse:
    """我的学分: this year's progress and the ledger with the cause of every entry."""
    return render(request, "credits/ledger.html", _ledger_context(request, request.user, request.user))


@login_required
def person_credits(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(org_selectors.people_in_scope(request.user).select_related("unit"), pk=pk)
    return render(request, "credits/ledger.html", _ledger_context(request, request.user, person))


@login_required
@require_http_methods(["GET", "POST"])
def entry_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    entry = selectors.entry_for(request.user, pk)
    if not org_selectors.can_manage_person(request.user, entry.person):
        raise Http404
    form = ReverseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.credit_reverse(entry=entry, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("The entry was reversed; the correction is in the ledger."))
            return redirect("credits:person", pk=entry.person_id)
    return render(request, "credits/reverse.html", {"entry": entry, "form": form})


# --- Rankings ------------------------------------------------------------------------------------


@login_required
def rankings(request: HttpRequest) -> HttpResponse:
    """Rankings of people or units by period and scope, as the organisation's policy allows."""
    kind = request.GET.get("kind", "people")
    if kind not in ("people", "units"):
        kind = "people"
    error = ""
    try:
        period = parse_period(request.GET.get("period"), default=current_periods()[0])
    except ValueError as exc:
        error, period = str(exc), current_periods()[0]
    scope = selectors.ranking_scope(request.user, _int_or_none(request.GET.get("unit")))
    by = request.GET.get("by", "average")
    page_number = _int_or_none(request.GET.get("page")) or 1
    page_number = max(page_number, 1)
    try:
        if kind == "people":
            result = selectors.people_ranking(request.user, period=period, scope=scope, page=page_number)
        else:
            result = selectors.units_ranking(request.user, period=period, scope=scope, by=by, page=page_number)
    except ValueError as exc:
        error = str(exc)
        result = selectors.units_ranking(request.user, period=period, scope=scope, page=page_number)
        by = "average"
    this_year = current_periods()[0]
    period_choices = []
    for year in _year_choices()[:3]:
        period_choices.append(Period(PeriodKind.YEAR, year))
        for q in range(4, 0, -1):
            p = Period(PeriodKind.QUARTER, year, q)
            if p.start <= this_year.end and p.start <= current_periods()[1].start:
                period_choices.append(p)
    months = [Period(PeriodKind.MONTH, this_year.year, m) for m in range(current_periods()[2].index, 0, -1)]
    return render(
        request,
        "credits/rankings.html",
        {
            "kind": kind,
            "result": result,
            "period": period,
            "scope": scope,
            "scopes": selectors.ranking_scopes(request.user),
            "by": by,
            "error": error,
            "period_choices": period_choices + months,
        },
    )


# --- Compliance -------------------------------------------------------------------------------------


@login_required
def compliance(request: HttpRequest) -> HttpResponse:
    """Units behind the pro-rata requirement, for admins and managers (情况通报)."""
    year = _int_or_none(request.GET.get("year")) or current_periods()[0].year
    if year not in _year_choices():
        year = current_periods()[0].year
    unit = None
    unit_id = _int_or_none(request.GET.get("unit"))
    if unit_id is not None:
        unit = get_object_or_404(org_selectors.units_in_scope(request.user), pk=unit_id)
    show_all = request.GET.get("all") == "1"
    rows = selectors.compliance_units(request.user, year=year, unit=unit, behind_only=not show_all)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    names = org_selectors.unit_full_names(OrgUnit.objects.filter(pk__in=[ut.unit_id for ut in page]))
    page.object_list = [selectors.compliance_row(ut, names) for ut in page]
    period = Period(PeriodKind.YEAR, year)
    return render(
        request,
        "credits/compliance.html",
        {
            "page": page,
            "year": year,
            "years": _year_choices(),
            "unit": unit,
            "show_all": show_all,
            "fraction_percent": round(period.fraction_elapsed() * 100),
        },
    )


@login_required
def compliance_unit(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit = get_object_or_404(org_selectors.units_in_scope(request.user), pk=unit_id)
    if not org_selectors.scope_for(request.user).covers(unit, "view"):
        raise Http404
    year = _int_or_none(request.GET.get("year")) or current_periods()[0].year
    behind = selectors.people_behind(request.user, unit=unit, year=year)
    page = Paginator(behind, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "credits/compliance_unit.html",
        {"unit": unit, "year": year, "page": page, "full_name": org_selectors.unit_full_name(unit)},
    )


# --- Adjustments ----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def adjustments(request: HttpRequest) -> HttpResponse:
    """Unit admins add or take away points for a person in scope, with a mandatory reason."""
    scope = org_selectors.scope_for(request.user)
    if scope.manage == ():
        raise PermissionDenied(_("Only unit admins adjust credits."))
    form = AdjustmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person = selectors.person_for_adjustment(request.user, employee_no=data["employee_no"])
        except Http404:
            form.add_error(
                "employee_no",
                _("Nobody with employee number %(no)s works in a unit you administer.") % {"no": data["employee_no"]},
            )
        else:
            try:
                entry = services.credit_adjust(
                    person=person,
                    points=data["points"],
                    reason=data["reason"],
                    actor=request.user,
                    idempotency_key=data["token"],
                )
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(
                    request,
                    _("%(points)s points recorded for %(name)s.") % {"points": entry.points, "name": person.name},
                )
                return redirect("credits:adjustments")
    recent = Paginator(selectors.adjustments_visible_to(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "credits/adjustments.html", {"form": form, "page": recent})


# --- Rules (system admins) ----------------------------------------------------------------------------------


def _require_superuser(request: HttpRequest) -> None:
    if not request.user.is_superuser:
        raise PermissionDenied(_("Only a system administrator may change the credit rules."))


@login_required
@require_http_methods(["GET", "POST"])
def rules(request: HttpRequest) -> HttpResponse:
    """Credit policy, source rules and caps, award points, requirements, ranking visibility."""
    _require_superuser(request)
    policy = selectors.credit_policy()
    forms = {
        "policy": PolicyForm(initial={f: getattr(policy, f) for f in services.POLICY_FIELDS}),
        "source": SourceRuleForm(initial={"year": current_periods()[0].year}),
        "award": AwardRuleForm(),
        "requirement": RequirementForm(initial={"year": current_periods()[0].year}),
    }
    if request.method == "POST":
        which = request.POST.get("form", "")
        handler = _RULE_HANDLERS.get(which)
        if handler is None:
            raise Http404
        form_class, save = handler
        form = form_class(request.POST)
        forms[which] = form
        if form.is_valid():
            try:
                save(request.user, form.cleaned_data)
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, _("Saved. Totals affected by the change are being recomputed."))
                return redirect(reverse("credits:rules") + f"#{which}")
    roots = list(OrgUnit.objects.get_root_nodes())
    policies = {p.root_id: p for p in RankingPolicy.objects.filter(root__in=roots)}
    ranking_rows = [
        (root, RankingPolicyForm(initial={
            "root": root.pk,
            "visibility": policies[root.pk].visibility if root.pk in policies else RankingVisibility.TOP_N,
            "top_n": policies[root.pk].top_n if root.pk in policies else 10,
            "mask_names": policies[root.pk].mask_names if root.pk in policies else False,
        }, prefix=f"r{root.pk}"))
        for root in roots
    ]
    return render(
        request,
        "credits/rules.html",
        {
            "forms": forms,
            "policy": policy,
            "source_rules": SourceRule.objects.all(),
            "award_rules": AwardRule.objects.all(),
            "requirements": Requirement.objects.select_related("cadre_level"),
            "ranking_rows": ranking_rows,
            "source_kinds": SourceKind.choices,
        },
    )


def _save_policy(actor: User, data: dict) -> None:
    services.credit_policy_update(actor=actor, **data)


def _save_source(actor: User, data: dict) -> None:
    services.source_rule_save(actor=actor, **data)


def _save_award(actor: User, data: dict) -> None:
    services.award_rule_save(actor=actor, **data)


def _save_requirement(actor: User, data: dict) -> None:
    services.requirement_save(actor=actor, **data)


_RULE_HANDLERS = {
    "policy": (PolicyForm, _save_policy),
    "source": (SourceRuleForm, _save_source),
    "award": (AwardRuleForm, _save_award),
    "requirement": (RequirementForm, _save_requirement),
}


@login_required
@require_POST
def ranking_policy(request: HttpRequest, root_id: int) -> HttpResponse:
    _require_superuser(request)
    root = get_object_or_404(OrgUnit, pk=root_id, depth=1)
    form = RankingPolicyForm(request.POST, prefix=f"r{root.pk}")
    if form.is_valid():
        try:
            services.ranking_policy_save(
                actor=request.user,
                root=root,
                visibility=form.cleaned_data["visibility"],
                top_n=form.cleaned_data["top_n"],
                mask_names=form.cleaned_data["mask_names"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Ranking visibility of %(org)s saved.") % {"org": root.name})
    else:
        messages.error(request, _("Check the ranking visibility of %(org)s: %(errors)s") % {
            "org": root.name, "errors": " ".join(m for msgs in form.errors.values() for m in msgs)})
    return redirect(reverse("credits:rules") + "#ranking")


@login_required
@require_POST
def rule_delete(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    _require_superuser(request)
    if kind == "source":
        services.source_rule_delete(actor=request.user, rule=get_object_or_404(SourceRule, pk=pk))
    elif kind == "award":
        services.award_rule_delete(actor=request.user, rule=get_object_or_404(AwardRule, pk=pk))
    elif kind == "requirement":
        services.requirement_delete(actor=request.user, requirement=get_object_or_404(Requirement, pk=pk))
    else:
        raise Http404
    messages.success(request, _("Removed."))
    return redirect(reverse("credits:rules") + f"#{kind}")

