"""Pages every person uses: home, the organisation in scope, notices, feedback."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from org import selectors, services
from org.models import Feedback, Role


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    scope = selectors.scope_for(user)
    role_labels = [str(Role(r).label) for r in sorted(scope.roles) if r in Role.values]
    if user.is_superuser:
        role_labels.insert(0, _("system admin"))
    context = {
        "unit_full_name": selectors.unit_full_name(user.unit) if user.unit_id else "",
        "role_labels": role_labels or [_("learner")],
        "recent_notifications": selectors.notifications_for(user)[:5],
        "admin_summary": selectors.scope_summary(user) if scope.view != () else None,
        "home_panels": _home_panels(request),
    }
    return render(request, "org/home.html", context)


def _home_panels(request: HttpRequest) -> list[str]:
    """Rendered panels other apps contribute to the home page (see HOME_PANELS)."""
    from learning_portal.home import render_panels

    return render_panels(request)


@login_required
def unit_list(request: HttpRequest) -> HttpResponse:
    units = selectors.unit_tree_with_counts(request.user)
    if not units:
        raise Http404
    names = selectors.unit_full_names()
    min_depth = min(u.depth for u in units)
    rows = [
        {"unit": u, "full_name": names.get(u.pk, u.name), "indent": u.depth - min_depth}
        for u in units
    ]
    return render(request, "org/unit_list.html", {"rows": rows})


class PeopleFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=50)
    unit = forms.IntegerField(required=False, widget=forms.HiddenInput)
    active = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("All")), ("1", gettext_lazy("active")), ("0", gettext_lazy("inactive"))],
    )


@login_required
def people_list(request: HttpRequest) -> HttpResponse:
    form = PeopleFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    unit = None
    if filters.get("unit"):
        unit = get_object_or_404(selectors.units_in_scope(request.user), pk=filters["unit"])
    people = selectors.search_people(
        request.user,
        text=filters.get("q") or "",
        unit=unit,
        active={"1": True, "0": False}.get(filters.get("active") or ""),
    )
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    lineages = selectors.unit_lineages(person.unit for person in page)
    for person in page:
        lineage = lineages.get(person.unit_id)
        person.unit_full_name = lineage.full_name if lineage else ""
    return render(request, "org/people_list.html", {"form": form, "page": page, "unit": unit})


@login_required
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(
        selectors.people_in_scope(request.user).select_related("unit", "cadre_level"), pk=pk
    )
    return render(
        request,
        "org/person_detail.html",
        {
            "person": person,
            "unit_full_name": selectors.unit_full_name(person.unit) if person.unit_id else "",
            "grants": person.grants.select_related("unit"),
            "show_personal_details": selectors.can_view_personal_details(request.user, person),
            "can_reset_password": person.pk != request.user.pk
            and person.is_active
            and selectors.can_manage_person(request.user, person)
            and (request.user.is_superuser or not person.is_superuser),
        },
    )


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, which also lifts a temporary password's must-change flag."""

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(person=self.request.user)
        return response


@login_required
@require_POST
def person_password_reset(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(selectors.people_in_scope(request.user, access="manage"), pk=pk)
    try:
        temporary = services.person_password_reset(actor=request.user, person=person)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("Temporary password for %(name)s: %(password)s — tell it to them in person or by phone; "
              "it is shown only once and must be changed at the next login.")
            % {"name": person.name, "password": temporary},
        )
    return redirect("org:person_detail", pk=person.pk)


# --- Notifications -------------------------------------------------------------------


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.notifications_for(request.user), 30).get_page(request.GET.get("page"))
    return render(request, "org/notifications.html", {"page": page})


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    ids = request.POST.getlist("id")
    try:
        id_list = [int(i) for i in ids] if ids else None
    except ValueError:
        messages.error(request, _("Invalid notification."))
        return redirect("org:notifications")
    services.notifications_mark_read(user=request.user, ids=id_list)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""  # never bounce a person to another site
    return redirect(next_url or "org:notifications")


# --- Feedback (意见建议) -------------------------------------------------------------------


class FeedbackForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Feedback.Kind.choices)
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200)
    body = forms.CharField(label=gettext_lazy("Message"), max_length=5000, widget=forms.Textarea(attrs={"rows": 6}))


class ReplyForm(forms.Form):
    reply = forms.CharField(label=gettext_lazy("Reply"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5}))


def _apply_errors(form: forms.Form, error: ValidationError) -> None:
    for field, msgs in error.message_dict.items():
        form.add_error(field if field in form.fields else None, msgs)


@login_required
def feedback_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    items = selectors.feedback_visible_to(request.user)
    if status in Feedback.Status.values:
        items = items.filter(status=status)
    page = Paginator(items, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "org/feedback_list.html",
        {"page": page, "status": status, "statuses": Feedback.Status.choices},
    )


@login_required
@require_http_methods(["GET", "POST"])
def feedback_new(request: HttpRequest) -> HttpResponse:
    form = FeedbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            feedback = services.feedback_submit(author=request.user, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Thank you. Your message was sent to your unit's admins."))
            return redirect("org:feedback_detail", pk=feedback.pk)
    return render(request, "org/feedback_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def feedback_detail(request: HttpRequest, pk: int) -> HttpResponse:
    feedback = get_object_or_404(selectors.feedback_visible_to(request.user), pk=pk)
    can_reply = selectors.can_manage_unit(request.user, feedback.unit)
    form = ReplyForm(request.POST or None, initial={"reply": feedback.reply})
    if request.method == "POST":
        if not can_reply:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.feedback_reply(feedback=feedback, actor=request.user, reply=form.cleaned_data["reply"])
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, _("Your reply was sent."))
                return redirect("org:feedback_detail", pk=feedback.pk)
    return render(
        request, "org/feedback_detail.html", {"feedback": feedback, "form": form, "can_reply": can_reply}
    )


# --- Health --------------------------------------------------------------------------------


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness of the database and, when configured, Redis. 503 when anything is down."""
    from django.conf import settings

    checks: dict[str, str] = {}
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report any failure, never raise
        checks["database"] = f"error: {exc.__class__.__name__}"
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"error: {exc.__class__.__name__}"
    else:
        checks["redis"] = "not configured"
    healthy = all(v in ("ok", "not configured") for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
