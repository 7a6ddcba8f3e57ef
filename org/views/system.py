"""System-admin pages: the organisation tree, cadre levels and role grants.

Only a system administrator (superuser) may open them; everyone else gets 403. Every
write goes through `org.services`, which checks the actor again, so these pages and
the API cannot disagree about what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from org import selectors, services
from org.forms import (
    CadreLevelForm,
    GrantCreateForm,
    GrantFilterForm,
    UnitCreateForm,
    UnitMoveForm,
    UnitUpdateForm,
    apply_service_errors,
)
from org.models import CadreLevel, OrgUnit, RoleGrant

PERSON_SEARCH_LIMIT = 10


def system_admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Log in first; then a system administrator passes and everyone else gets 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_superuser:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapped)


# --- Organisation tree -------------------------------------------------------------------


def _url_maker(name: str, kwarg: str = "pk") -> Callable[[int], str]:
    """`pk -> url` for a route with one `<int:…>` part, reversed once: {% url %} on each of
    2,000 rows would take half of the tree page's time."""
    sentinel = 987654321
    prefix, suffix = reverse(name, kwargs={kwarg: sentinel}).split(str(sentinel))
    return lambda pk: f"{prefix}{pk}{suffix}"


def _tree_rows(units: list[OrgUnit]) -> list[dict]:
    """Rows for the tree page: each unit with its indent and active members in its subtree.

    `units` arrive in path order with `member_count` (own active members); the subtree
    totals are summed bottom-up in one pass, so the page needs no query per unit.
    """
    totals = {u.path: u.member_count for u in units}
    for unit in reversed(units):
        parent_path = unit.path[: -OrgUnit.steplen]
        if parent_path in totals:
            totals[parent_path] += totals[unit.path]
    edit_url, move_url = _url_maker("org:unit_edit"), _url_maker("org:unit_move")
    child_url = _url_maker("org:unit_new_child", "parent_pk")
    return [
        {
            "unit": u,
            "indent": u.depth - 1,
            "subtree_count": totals[u.path],
            "edit_url": edit_url(u.pk),
            "move_url": move_url(u.pk),
            "child_url": child_url(u.pk),
        }
        for u in units
    ]


@system_admin_required
@require_GET
def manage_units(request: HttpRequest) -> HttpResponse:
    units = selectors.unit_tree_with_counts(request.user)
    return render(
        request,
        "org/system/unit_tree.html",
        {
            "rows": _tree_rows(units),
            # Big trees open folded to their top two levels; small ones open in full.
            "collapse_from_depth": 2 if len(units) > 60 else 0,
            "steplen": OrgUnit.steplen,
        },
    )


@system_admin_required
@require_http_methods(["GET", "POST"])
def unit_new(request: HttpRequest, parent_pk: int | None = None) -> HttpResponse:
    parent = get_object_or_404(OrgUnit, pk=parent_pk) if parent_pk is not None else None
    form = UnitCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            unit = services.unit_create(parent=parent, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Unit “%(name)s” was added.") % {"name": unit.name})
            return redirect(f"{reverse('org:manage_units')}#unit-{unit.pk}")
    return render(
        request,
        "org/system/unit_form.html",
        {
            "form": form,
            "parent": parent,
            "parent_full_name": selectors.unit_full_name(parent) if parent else "",
        },
    )


@system_admin_required
@require_http_methods(["GET", "POST"])
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_object_or_404(OrgUnit, pk=pk)
    initial = {f: getattr(unit, f) for f in ("code", "name", "kind", "sort_order", "is_active")}
    form = UnitUpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.unit_update(unit=unit, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Unit “%(name)s” was saved.") % {"name": unit.name})
            return redirect(f"{reverse('org:manage_units')}#unit-{unit.pk}")
    return render(
        request,
        "org/system/unit_form.html",
        {
            "form": form,
            "unit": unit,
            "unit_full_name": selectors.unit_full_name(unit),
            "member_count": unit.members.filter(is_active=True).count(),
        },
    )


@system_admin_required
@require_http_methods(["GET", "POST"])
def unit_move(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_object_or_404(OrgUnit, pk=pk)
    current_parent = OrgUnit.objects.get_parent(unit)
    form = UnitMoveForm(request.POST or None, initial={"parent": current_parent})
    if request.method == "POST" and form.is_valid():
        try:
            unit = services.unit_move(
                unit=unit, new_parent=form.cleaned_data["parent"], actor=request.user
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("“%(name)s” now sits at %(path)s.")
                % {"name": unit.name, "path": selectors.unit_full_name(unit)},
            )
            return redirect(f"{reverse('org:manage_units')}#unit-{unit.pk}")
    return render(
        request,
        "org/system/unit_move.html",
        {
            "form": form,
            "unit": unit,
            "unit_full_name": selectors.unit_full_name(unit),
            "descendant_count": OrgUnit.objects.filter(path__startswith=unit.path)
            .exclude(pk=unit.pk)
            .count(),
        },
    )


# --- Cadre levels ------------------------------------------------------------------------


@system_admin_required
@require_GET
def cadre_levels(request: HttpRequest) -> HttpResponse:
    levels = selectors.cadre_levels_with_counts()
    return render(request, "org/system/cadre_levels.html", {"levels": levels})


@system_admin_required
@require_http_methods(["GET", "POST"])
def cadre_level_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    level = get_object_or_404(CadreLevel, pk=pk) if pk is not None else None
    initial = {"code": level.code, "name": level.name, "sort_order": level.sort_order} if level else {}
    form = CadreLevelForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.cadre_level_save(level=level, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Cadre level “%(name)s” was saved.") % {"name": saved.name})
            return redirect("org:cadre_levels")
    return render(request, "org/system/cadre_level_form.html", {"form": form, "level": level})


# --- Role grants -------------------------------------------------------------------------


@system_admin_required
@require_GET
def grants(request: HttpRequest) -> HttpResponse:
    form = GrantFilterForm(request.GET or None)
    form.is_valid()  # a bad filter is shown on the form; the valid ones still apply
    filters = getattr(form, "cleaned_data", {})
    rows = selectors.role_grants_filtered(
        role=filters.get("role") or "", unit=filters.get("unit"), text=filters.get("q") or ""
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    names = selectors.unit_full_names()
    for grant in page:
        grant.unit_full_name = names.get(grant.unit_id, grant.unit.name)
        grant.person_unit_full_name = names.get(grant.user.unit_id, "")
    return render(request, "org/system/grants.html", {"form": form, "page": page})


@system_admin_required
@require_http_methods(["GET", "POST"])
def grant_new(request: HttpRequest) -> HttpResponse:
    form = GrantCreateForm(
        request.POST or None,
        initial={"unit": request.GET.get("unit"), "person": request.GET.get("person", "")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            grant = services.role_grant_create(
                user=data["person"], unit=data["unit"], role=data["role"], granted_by=request.user
            )
        except ValidationError as error:
            apply_service_errors(form, error, aliases={"user": "person"})
        else:
            messages.success(request, _("Granted: %(grant)s.") % {"grant": grant})
            return redirect("org:grants")
    return render(request, "org/system/grant_form.html", {"form": form})


@system_admin_required
@require_http_methods(["GET", "POST"])
def grant_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    grant = get_object_or_404(RoleGrant.objects.select_related("user", "unit"), pk=pk)
    if request.method == "POST":
        services.role_grant_revoke(grant=grant, actor=request.user)
        messages.success(request, _("Revoked: %(grant)s.") % {"grant": grant})
        return redirect("org:grants")
    return render(
        request,
        "org/system/grant_revoke.html",
        {"grant": grant, "unit_full_name": selectors.unit_full_name(grant.unit)},
    )


@system_admin_required
@require_GET
def person_search(request: HttpRequest) -> HttpResponse:
    """The htmx fragment under the grant form's person box: active people matching `q`."""
    text = request.GET.get("q", request.GET.get("person", "")).strip()[:50]
    people = []
    if text:
        people = list(
            selectors.search_people(request.user, text=text, active=True)[: PERSON_SEARCH_LIMIT + 1]
        )
    names = selectors.unit_full_names() if people else {}
    for person in people:
        person.unit_full_name = names.get(person.unit_id, "")
    return render(
        request,
        "org/system/_person_results.html",
        {
            "text": text,
            "people": people[:PERSON_SEARCH_LIMIT],
            "more": len(people) > PERSON_SEARCH_LIMIT,
        },
    )
