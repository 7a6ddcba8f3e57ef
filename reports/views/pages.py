"""Pages of the reports app: the download centre (报表中心), the manager dashboard and the
learning record (学习档案). Views parse input, call one service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from learning_portal.uploads import protected_file_response
from org.models import User
from reports import forms, rows, selectors, services
from reports.models import ReportKind

RUNS_PER_PAGE = 20


def _apply_errors(form, error: ValidationError) -> None:
    for name, msgs in error.message_dict.items():
        form.add_error(name if name in form.fields else None, msgs)


def _runs_page(request: HttpRequest):
    page = Paginator(selectors.runs_of(request.user), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    return page, selectors.has_active_runs(page.object_list)


def _unit_forms(request: HttpRequest, bound: forms.ReportForm | None = None) -> dict[str, forms.ReportForm]:
    if not selectors.can_use_reports(request.user):
        return {}
    built = {}
    for kind in (ReportKind.QUARTERLY, ReportKind.BRIEFING, ReportKind.ATTENDANCE, ReportKind.LEARNING_RECORDS):
        if bound is not None and bound.kind == kind:
            built[kind] = bound
        else:
            built[kind] = forms.FORMS[kind](user=request.user, prefix=kind)
    return built


@login_required
@require_GET
def centre(request: HttpRequest) -> HttpResponse:
    """The download centre: ask for a report, watch it being built, download it."""
    page, polling = _runs_page(request)
    can_report = selectors.can_use_reports(request.user)
    return render(request, "reports/centre.html", {
        "page": page, "polling": polling, "unit_forms": _unit_forms(request), "can_report": can_report,
        "subscription_form": forms.SubscriptionForm(user=request.user, prefix="sub") if can_report else None,
        "subscriptions": selectors.subscriptions_of(request.user),
    })


@login_required
@require_GET
def runs_partial(request: HttpRequest) -> HttpResponse:
    """The runs table alone, polled by htmx while anything is being built."""
    page, polling = _runs_page(request)
    return render(request, "reports/_runs.html", {"page": page, "polling": polling})


@login_required
@require_POST
def request_report(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in forms.FORMS:
        raise Http404
    form = forms.FORMS[kind](request.POST, user=request.user, prefix=kind)
    if form.is_valid():
        try:
            run, created = services.report_request(requester=request.user, kind=kind, raw=form.service_input())
        except ValidationError as error:
            _apply_errors(form, error)
        except PermissionDenied as denied:
            raise PermissionDenied(str(denied)) from denied
        else:
            if created:
                messages.success(request, _("“%(title)s” is being built; it appears below when ready.") % {"title": run.title})
            else:
                messages.info(request, _("The same report is already being built: see its progress below."))
            if kind == ReportKind.LEARNING_RECORD and not selectors.can_use_reports(request.user):
                return redirect("reports:record")
            return redirect("reports:centre")
    if kind == ReportKind.LEARNING_RECORD:
        return _record_page(request, record_form=form, status=400)
    page, polling = _runs_page(request)
    can_report = selectors.can_use_reports(request.user)
    return render(request, "reports/centre.html", {
        "page": page, "polling": polling, "unit_forms": _unit_forms(request, bound=form), "can_report": can_report,
        "open_kind": kind,
        "subscription_form": forms.SubscriptionForm(user=request.user, prefix="sub") if can_report else None,
        "subscriptions": selectors.subscriptions_of(request.user),
    }, status=400)


@login_required
@require_GET
def download(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.run_for_download(request.user, pk)
    return protected_file_response(run.file, download_name=run.file_name, as_attachment=True)


@login_required
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.report_retry(run=selectors.run_of(request.user, pk), actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(m for msgs in error.message_dict.values() for m in msgs))
    else:
        messages.success(request, _("The report was queued again."))
    return redirect("reports:centre")


@login_required
@require_POST
def subscribe(request: HttpRequest) -> HttpResponse:
    form = forms.SubscriptionForm(request.POST, user=request.user, prefix="sub")
    if form.is_valid():
        try:
            services.subscription_create(
                subscriber=request.user, unit=form.cleaned_data["unit"], fmt=form.cleaned_data["format"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(m for msgs in error.message_dict.values() for m in msgs))
        else:
            messages.success(request, _("You will receive the quarterly report of %(unit)s after each quarter.")
                             % {"unit": form.cleaned_data["unit"].name})
    else:
        messages.error(request, _("Choose one of the units you administer or manage."))
    return redirect("reports:centre")


@login_required
@require_POST
def unsubscribe(request: HttpRequest, pk: int) -> HttpResponse:
    services.subscription_cancel(subscription=selectors.subscription_of(request.user, pk), actor=request.user)
    messages.success(request, _("The subscription was cancelled."))
    return redirect("reports:centre")


# --- Dashboard ----------------------------------------------------------------------------------


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Charts of a unit's quarter (ECharts), from the same figures as the quarterly report."""
    if not selectors.can_use_reports(request.user):
        raise PermissionDenied(_("The dashboard is for unit admins, managers and system admins."))
    today = timezone.localdate()
    initial = {"year": today.year, "quarter": (today.month - 1) // 3 + 1}
    first_unit = selectors.units_for_reports(request.user).first()
    if first_unit is not None:
        initial["unit"] = first_unit.pk
    form = forms.DashboardForm(request.GET or initial, user=request.user)
    data = None
    if form.is_valid():
        raw = {"unit": form.cleaned_data["unit"].pk, "year": form.cleaned_data["year"],
               "quarter": form.cleaned_data["quarter"]}
        try:
            req = services.clean_request(requester=request.user, kind=ReportKind.QUARTERLY, raw=raw)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            data = selectors.dashboard(request.user, req.unit, req.window)
    status = 400 if request.GET and data is None else 200
    return render(request, "reports/dashboard.html", {"form": form, "data": data, "chart_text": _chart_text()},
                  status=status)


def _chart_text() -> dict[str, str]:
    return {
        "units": _("Average credits per person (top units)"), "sources": _("Credits by source"),
        "months": _("Micro-classes held and the monthly target"), "held": _("Classes held"),
        "target": _("Target"), "track": _("On track for the annual requirement"), "on_track": _("On track"),
        "behind": _("Behind"), "avg": _("Average per person"),
    }


# --- Learning record (学习档案) -------------------------------------------------------------------


def _record_page(request: HttpRequest, *, record_form: forms.RecordForm | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    person: User = user
    raw_person = request.GET.get("person") or (record_form.data.get(f"{record_form.prefix}-person") if record_form else "")
    if raw_person:
        try:
            person = selectors.people_for_records(user).select_related("unit").get(pk=int(raw_person))
        except (ValueError, User.DoesNotExist):
            raise Http404 from None
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    year = min(max(year, 2000), timezone.localdate().year)
    record = rows.learning_record(user, person, year)
    if record_form is None:
        record_form = forms.RecordForm(user=user, prefix=ReportKind.LEARNING_RECORD,
                                       initial={"person": person.pk, "year": year})
    search = request.GET.get("q", "").strip()
    found = []
    if search and selectors.can_use_reports(user):
        found = list(selectors.people_for_records(user).filter(employee_no=search).select_related("unit")[:1]) or list(
            selectors.people_for_records(user).filter(name__icontains=search).select_related("unit")
            .order_by("unit__path", "employee_no")[:20]
        )
    years = list(range(timezone.localdate().year, timezone.localdate().year - 6, -1))
    return render(request, "reports/record.html", {
        "record": record, "person": person, "year": year, "years": years, "record_form": record_form,
        "is_self": person.pk == user.pk, "can_report": selectors.can_use_reports(user),
        "search": search, "found": found,
        "bulk_form": forms.RecordsBulkForm(user=user, prefix=ReportKind.LEARNING_RECORDS,
                                           initial={"year": year}) if selectors.can_use_reports(user) else None,
        "recent_runs": selectors.runs_of(user).filter(kind=ReportKind.LEARNING_RECORD)[:5],
    }, status=status)


@login_required
@require_GET
def record(request: HttpRequest) -> HttpResponse:
    """A person's learning record for a year: their own, or (admins, managers) someone's in scope."""
    return _record_page(request)
