"""The pages a unit admin runs the programme from: menu, declarations, plan, classes,
check-in screen, attendance, closing, exports, speakers, venues, settings.

Every object is looked up through a scoped selector (outside the scope: 404); the
services check the right to change it (PermissionDenied: 403).
"""

from __future__ import annotations

import datetime as dt
import io

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from org import selectors as org_selectors
from org.models import OrgUnit
from sessions import checkin, exports, selectors, services
from sessions.forms import (
    CancelForm,
    CoursewareForm,
    ExportForm,
    MarkForm,
    MenuForm,
    PlanForm,
    PlanItemForm,
    PlanItemMoveForm,
    ReviewForm,
    SessionForm,
    SettingsForm,
    SpeakerForm,
    TopicForm,
    VenueForm,
    apply_errors,
)
from sessions.models import Attendance, Declaration, Menu, PlanItem, Session
from sessions.views.learner import _first_message


def _require_admin(request: HttpRequest) -> None:
    scope = org_selectors.scope_for(request.user)
    if scope.manage is not None and not scope.manage:
        raise PermissionDenied


def _managed_session(request: HttpRequest, pk: int) -> Session:
    """A class the user can see; 404 outside the scope, 403 when seen but not managed."""
    session = get_object_or_404(
        selectors.sessions_visible_to(request.user).select_related("host_unit", "venue", "track"), pk=pk
    )
    if not selectors.can_manage_session(request.user, session):
        raise PermissionDenied
    return session


# --- Dashboard ------------------------------------------------------------------------------


@login_required
def manage_home(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    user = request.user
    year = timezone.localdate().year
    now = timezone.now()
    return render(
        request, "lectures/manage/home.html",
        {
            "upcoming": selectors.with_list_data(
                selectors.sessions_managed_by(user).filter(end__gte=now).exclude(status=Session.Status.CANCELLED), user
            ).order_by("start")[:10],
            "to_close": selectors.sessions_managed_by(user)
            .filter(status=Session.Status.SCHEDULED, end__lt=now)
            .select_related("host_unit")
            .order_by("start")[:10],
            "pending_count": selectors.declarations_managed_by(user).filter(status=Declaration.Status.SUBMITTED).count(),
            "menus": selectors.menus_managed_by(user).filter(year__gte=year - 1).order_by("-year", "unit__path")[:10],
            "plans": selectors.plans_managed_by(user).filter(year__gte=year - 1).order_by("-year", "unit__path")[:10],
            "year": year,
        },
    )


# --- Menus -----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def menu_new(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    form = MenuForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            menu = services.menu_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Menu created. Add its topics, then publish it."))
            return redirect("lectures:menu_detail", pk=menu.pk)
    return render(request, "lectures/manage/form.html", {"form": form, "title": _("New annual menu")})


def _managed_menu(request: HttpRequest, pk: int) -> Menu:
    return get_object_or_404(selectors.menus_managed_by(request.user), pk=pk)


@login_required
@require_POST
def menu_topic_add(request: HttpRequest, pk: int) -> HttpResponse:
    menu = _managed_menu(request, pk)
    form = TopicForm(request.POST)
    if form.is_valid():
        try:
            services.menu_topic_add(actor=request.user, menu=menu, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, _first_message(error))
        else:
            messages.success(request, _("Topic added."))
    else:
        messages.error(request, _("Give the topic a title and a track."))
    return redirect("lectures:menu_detail", pk=pk)


@login_required
@require_POST
def menu_topic_remove(request: HttpRequest, pk: int, topic_pk: int) -> HttpResponse:
    menu = _managed_menu(request, pk)
    topic = get_object_or_404(menu.topics, pk=topic_pk)
    services.menu_topic_remove(actor=request.user, topic=topic)
    return redirect("lectures:menu_detail", pk=pk)


@login_required
@require_POST
def menu_publish(request: HttpRequest, pk: int) -> HttpResponse:
    menu = _managed_menu(request, pk)
    try:
        services.menu_publish(actor=request.user, menu=menu)
    except ValidationError as error:
        messages.error(request, _first_message(error))
    else:
        messages.success(request, _("The menu is published: people can now choose topics."))
    return redirect("lectures:menu_detail", pk=pk)


@login_required
@require_POST
def menu_close(request: HttpRequest, pk: int) -> HttpResponse:
    services.menu_close(actor=request.user, menu=_managed_menu(request, pk))
    return redirect("lectures:menu_detail", pk=pk)


# --- Declarations ------------------------------------------------------------------------------


@login_required
def declaration_queue(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    status = request.GET.get("status", Declaration.Status.SUBMITTED)
    items = selectors.declarations_managed_by(request.user)
    if status in Declaration.Status.values:
        items = items.filter(status=status)
    page = Paginator(items.order_by("created_at", "id"), 30).get_page(request.GET.get("page"))
    return render(
        request, "lectures/manage/declarations.html",
        {"page": page, "status": status, "statuses": Declaration.Status.choices},
    )


@login_required
@require_http_methods(["GET", "POST"])
def declaration_review(request: HttpRequest, pk: int) -> HttpResponse:
    declaration = get_object_or_404(selectors.declarations_visible_to(request.user), pk=pk)
    can_review = org_selectors.can_manage_unit(request.user, declaration.unit)
    initial = {"title": declaration.title, "outline": declaration.outline, "track": declaration.track_id,
               "format": declaration.format, "decision": "approve"}
    form = ReviewForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not can_review:
            raise PermissionDenied
        if form.is_valid():
            data = dict(form.cleaned_data)
            approve = data.pop("decision") == "approve"
            try:
                services.declaration_review(declaration=declaration, actor=request.user, approve=approve, **data)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("Decision saved; the declarer was told."))
                return redirect("lectures:declaration_queue")
    return render(
        request, "lectures/manage/declaration_review.html",
        {"declaration": declaration, "form": form, "can_review": can_review and declaration.status == "submitted"},
    )


@login_required
def declarations_owed(request: HttpRequest) -> HttpResponse:
    """Who still owes a declaration this year under the unit's age rule."""
    _require_admin(request)
    units = org_selectors.units_in_scope(request.user, access="manage")
    unit_id = request.GET.get("unit")
    unit = get_object_or_404(units, pk=unit_id) if unit_id and unit_id.isdigit() else units.first()
    year = timezone.localdate().year
    if request.GET.get("year", "").isdigit():
        year = int(request.GET["year"])
    people = selectors.declarations_owed(unit=unit, year=year) if unit else []
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    return render(
        request, "lectures/manage/owed.html",
        {"page": page, "unit": unit, "year": year, "units": units[:500],
         "rules": selectors.rules_for(unit) if unit else None},
    )


# --- Plans -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def plan_list(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    form = PlanForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return redirect("lectures:plan_detail", pk=plan.pk)
    plans = selectors.plans_managed_by(request.user).annotate(n_items=Count("items")).order_by("-year", "unit__path")
    page = Paginator(plans, 30).get_page(request.GET.get("page"))
    return render(request, "lectures/manage/plans.html", {"page": page, "form": form})


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(selectors.plans_visible_to(request.user), pk=pk)
    can_manage = org_selectors.can_manage_unit(request.user, plan.unit)
    months = selectors.plan_months(plan)
    return render(
        request, "lectures/manage/plan_detail.html",
        {"plan": plan, "months": months, "can_manage": can_manage,
         "short_months": [m for m in months if m.short_by],
         "item_form": PlanItemForm(plan=plan) if can_manage else None,
         "plannable": selectors.plannable_declarations(plan).count() if can_manage else 0,
         "month_choices": range(1, 13)},
    )


@login_required
@require_POST
def plan_propose(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(selectors.plans_managed_by(request.user), pk=pk)
    try:
        items = services.plan_propose(actor=request.user, plan=plan)
    except ValidationError as error:
        messages.error(request, _first_message(error))
    else:
        messages.success(request, _("%(n)s declarations were put into the plan.") % {"n": len(items)})
    return redirect("lectures:plan_detail", pk=pk)


@login_required
@require_POST
def plan_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(selectors.plans_managed_by(request.user), pk=pk)
    form = PlanItemForm(request.POST, plan=plan)
    if form.is_valid():
        try:
            services.plan_item_add(actor=request.user, plan=plan, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, _first_message(error))
    else:
        messages.error(request, _("Choose a month and a declaration (or give a title and a track)."))
    return redirect("lectures:plan_detail", pk=pk)


def _managed_item(request: HttpRequest, pk: int) -> PlanItem:
    return get_object_or_404(
        PlanItem.objects.filter(plan__in=selectors.plans_managed_by(request.user)).select_related("plan__unit"), pk=pk
    )


@login_required
@require_POST
def plan_item_move(request: HttpRequest, pk: int) -> HttpResponse:
    item = _managed_item(request, pk)
    form = PlanItemMoveForm(request.POST)
    if form.is_valid():
        services.plan_item_update(actor=request.user, item=item, month=form.cleaned_data["month"])
    return redirect("lectures:plan_detail", pk=item.plan_id)


@login_required
@require_POST
def plan_item_remove(request: HttpRequest, pk: int) -> HttpResponse:
    item = _managed_item(request, pk)
    services.plan_item_remove(actor=request.user, item=item)
    return redirect("lectures:plan_detail", pk=item.plan_id)


# --- Classes -------------------------------------------------------------------------------------


@login_required
def manage_sessions(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    sessions = selectors.with_list_data(selectors.sessions_managed_by(request.user), request.user)
    status = request.GET.get("status", "")
    if status in Session.Status.values:
        sessions = sessions.filter(status=status)
    when = request.GET.get("when", "upcoming")
    now = timezone.now()
    if when == "upcoming":
        sessions = sessions.filter(end__gte=now).order_by("start", "id")
    else:
        sessions = sessions.filter(end__lt=now).order_by("-start", "-id")
    page = Paginator(sessions, 30).get_page(request.GET.get("page"))
    return render(
        request, "lectures/manage/sessions.html",
        {"page": page, "status": status, "when": when, "statuses": Session.Status.choices},
    )


def _next_weekday(unit: OrgUnit | None) -> dict:
    day = timezone.localdate() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    start, end = selectors.default_slot(unit, day)
    return {"date": day, "start_time": timezone.localtime(start).time(), "end_time": timezone.localtime(end).time()}


@login_required
@require_http_methods(["GET", "POST"])
def session_new(request: HttpRequest) -> HttpResponse:
    """Schedule a class (optionally from a plan item, which fills title, track and speaker)."""
    _require_admin(request)
    plan_item = None
    item_id = request.POST.get("plan_item") or request.GET.get("plan_item")
    if item_id and str(item_id).isdigit():
        plan_item = _managed_item(request, int(item_id))
    units = org_selectors.units_in_scope(request.user, access="manage")
    initial = _next_weekday(units.first()) | {"audience_open": True}
    if plan_item is not None:
        initial |= {"title": plan_item.title, "track": plan_item.track_id, "host_unit": plan_item.plan.unit_id,
                    "speakers": [plan_item.speaker_id] if plan_item.speaker_id else []}
        if plan_item.declaration_id:
            initial |= {"format": plan_item.declaration.format, "description": plan_item.declaration.outline}
        day = dt.date(plan_item.plan.year, plan_item.month, 1)
        if day > timezone.localdate():
            while day.weekday() >= 5:
                day += dt.timedelta(days=1)
            initial["date"] = day
    form = SessionForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            session = services.session_create(actor=request.user, plan_item=plan_item, **form.service_kwargs())
        except ValidationError as error:
            apply_errors(form, error, SessionForm.ALIASES)
        else:
            messages.success(request, _("The class is scheduled."))
            return redirect("lectures:session_detail", pk=session.pk)
    return render(request, "lectures/manage/session_form.html", {"form": form, "plan_item": plan_item})


@login_required
@require_http_methods(["GET", "POST"])
def session_edit(request: HttpRequest, pk: int) -> HttpResponse:
    session = _managed_session(request, pk)
    local_start, local_end = timezone.localtime(session.start), timezone.localtime(session.end)
    initial = {
        "title": session.title, "track": session.track_id, "format": session.format,
        "speakers": list(session.speaker_links.values_list("speaker_id", flat=True)),
        "date": local_start.date(), "start_time": local_start.time(), "end_time": local_end.time(),
        "venue": session.venue_id, "location_note": session.location_note, "online_url": session.online_url,
        "audience_open": session.audience_open, "audience_units": list(session.audience_units.values_list("pk", flat=True)),
        "audience_levels": list(session.audience_levels.values_list("pk", flat=True)), "capacity": session.capacity,
        "attend_points": session.attend_points, "lecture_points": session.lecture_points,
        "description": session.description,
    }
    form = SessionForm(request.POST or None, user=request.user, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.session_update(actor=request.user, session=session, **form.service_kwargs())
        except ValidationError as error:
            apply_errors(form, error, SessionForm.ALIASES)
        else:
            messages.success(request, _("The class was updated."))
            return redirect("lectures:session_detail", pk=session.pk)
    return render(
        request, "lectures/manage/session_form.html",
        {"form": form, "session": session, "cancel_form": CancelForm()},
    )


@login_required
@require_POST
def session_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    session = _managed_session(request, pk)
    form = CancelForm(request.POST)
    try:
        services.session_cancel(actor=request.user, session=session,
                                reason=form.data.get("reason", ""))
    except ValidationError as error:
        messages.error(request, _first_message(error))
        return redirect("lectures:session_edit", pk=pk)
    messages.success(request, _("The class was cancelled and its audience told."))
    return redirect("lectures:session_detail", pk=pk)


@login_required
@require_POST
def session_close(request: HttpRequest, pk: int) -> HttpResponse:
    session = _managed_session(request, pk)
    was_closed = session.status == Session.Status.CLOSED
    try:
        services.session_close(actor=request.user, session=session)
    except ValidationError as error:
        messages.error(request, _first_message(error))
    else:
        if was_closed:
            messages.info(request, _("The class was closed already; nothing was credited again."))
        else:
            messages.success(request, _("The class is closed; attendees and speakers were credited."))
    return redirect("lectures:attendance", pk=pk)


# --- Check-in screen ------------------------------------------------------------------------------


def _checkin_session(request: HttpRequest, pk: int) -> Session:
    try:
        session = selectors.session_detail(request.user, pk)
    except Session.DoesNotExist:
        raise Http404 from None
    if not selectors.can_run_checkin(request.user, session):
        raise PermissionDenied
    return session


@login_required
def checkin_screen(request: HttpRequest, pk: int) -> HttpResponse:
    """Shown on the projector: the rotating QR code and short code, and the live count."""
    session = _checkin_session(request, pk)
    return render(request, "lectures/manage/checkin_screen.html", {"session": session, **_qr_context(request, session)})


def _qr_context(request: HttpRequest, session: Session) -> dict:
    now = timezone.now()
    token = checkin.make_token(session, now)
    url = request.build_absolute_uri(reverse("lectures:checkin_scan", args=[session.pk])) + f"?t={token}"
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=8, border=2, xmldecl=False, svgns=True)
    counts = selectors.attendance_summary(session)
    return {
        "qr_svg": buffer.getvalue().decode(),
        "code": checkin.short_code(session, now),
        "checkin_url": url,
        "seconds_left": checkin.seconds_left(now),
        "counts": counts,
        "checked_in": counts["present"] + counts["late"],
        "window_open": session.checkin_opens_at <= now <= session.checkin_closes_at,
        "now": now,
    }


@never_cache
@login_required
@require_GET
def checkin_qr(request: HttpRequest, pk: int) -> HttpResponse:
    """The htmx-polled part of the screen (every ~15 s): a fresh code and the count."""
    session = _checkin_session(request, pk)
    return render(request, "lectures/manage/_checkin_qr.html", {"session": session, **_qr_context(request, session)})


# --- Attendance -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def attendance(request: HttpRequest, pk: int) -> HttpResponse:
    """The register of a class: mark or correct anyone, with a reason; close the class."""
    session = get_object_or_404(
        selectors.sessions_visible_to(request.user).select_related("host_unit", "venue", "track"), pk=pk
    )
    can_manage = selectors.can_manage_session(request.user, session)
    if not (org_selectors.scope_for(request.user).covers(session.host_unit) or selectors.is_speaker(request.user, session)):
        raise PermissionDenied
    form = MarkForm(request.POST or None)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.attendance_mark(
                    actor=request.user, session=session, person=form.cleaned_data["person"],
                    status=form.cleaned_data["status"], reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                apply_errors(form, error, {"person": "employee_no"})
            else:
                messages.success(request, _("Attendance saved."))
                return redirect("lectures:attendance", pk=pk)
    rows = selectors.attendance_of(session)
    q = request.GET.get("q", "").strip()
    if q:
        rows = rows.filter(Q(person__name__icontains=q) | Q(person__employee_no__icontains=q))
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    return render(
        request, "lectures/manage/attendance.html",
        {"session": session, "page": page, "form": form, "can_manage": can_manage, "q": q,
         "counts": selectors.attendance_summary(session), "statuses": Attendance.Status.choices},
    )


@login_required
@require_GET
def session_export(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(selectors.sessions_visible_to(request.user).select_related("host_unit"), pk=pk)
    if not org_selectors.scope_for(request.user).covers(session.host_unit):
        raise PermissionDenied
    fmt = "csv" if request.GET.get("fmt") == "csv" else "xlsx"
    return exports.export_response(
        selectors.export_attendance(request.user, session=session), fmt=fmt, filename=f"attendance-{session.pk}"
    )


@login_required
def attendance_export(request: HttpRequest) -> HttpResponse:
    """Attendance over a date range for a unit subtree (the units in the user's view scope)."""
    scope = org_selectors.scope_for(request.user)
    if scope.view is not None and not scope.view:
        raise PermissionDenied
    form = ExportForm(request.GET or None, user=request.user)
    if request.GET and form.is_valid():
        data = form.cleaned_data
        rows = selectors.export_attendance(
            request.user, unit=data["unit"], date_from=data["date_from"], date_to=data["date_to"]
        )
        name = f"attendance-{data['date_from']:%Y%m%d}-{data['date_to']:%Y%m%d}"
        return exports.export_response(rows, fmt=data["fmt"], filename=name)
    return render(request, "lectures/manage/export.html", {"form": form})


# --- Courseware --------------------------------------------------------------------------------------


@login_required
@require_POST
def courseware_upload(request: HttpRequest, pk: int) -> HttpResponse:
    session = _checkin_session(request, pk)
    form = CoursewareForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.courseware_add(actor=request.user, session=session, upload=form.cleaned_data["file"])
        except ValidationError as error:
            messages.error(request, _first_message(error))
        else:
            messages.success(request, _("The file was added."))
    else:
        messages.error(request, _("Choose a file to upload."))
    return redirect("lectures:session_detail", pk=pk)


@login_required
@require_POST
def courseware_remove(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(selectors.courseware_visible_to(request.user), pk=pk)
    services.courseware_remove(actor=request.user, courseware=item)
    return redirect("lectures:session_detail", pk=item.session_id)


# --- Speakers, venues, settings ------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def speakers(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    form = SpeakerForm(request.POST or None, user=request.user)
    if request.method == "POST" and "toggle" in request.POST:
        speaker = get_object_or_404(selectors.speakers_visible_to(request.user), pk=request.POST.get("toggle"))
        services.speaker_save(
            actor=request.user, speaker=speaker, person=speaker.person, name=speaker.name,
            organisation=speaker.organisation, title=speaker.title, expertise=speaker.expertise,
            unit=speaker.unit, is_active=not speaker.is_active,
        )
        return redirect("lectures:speakers")
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("employee_no")
        try:
            services.speaker_save(actor=request.user, **data)
        except ValidationError as error:
            apply_errors(form, error, {"person": "employee_no"})
        else:
            messages.success(request, _("Speaker added to the pool."))
            return redirect("lectures:speakers")
    items = selectors.speakers_visible_to(request.user).annotate(n_sessions=Count("session_links")).order_by("name", "id")
    q = request.GET.get("q", "").strip()
    if q:
        items = items.filter(Q(name__icontains=q) | Q(organisation__icontains=q) | Q(expertise__icontains=q))
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    return render(request, "lectures/manage/speakers.html", {"page": page, "form": form, "q": q})


@login_required
@require_http_methods(["GET", "POST"])
def venues(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    form = VenueForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.venue_save(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Venue added."))
            return redirect("lectures:venues")
    page = Paginator(selectors.venues_visible_to(request.user).order_by("unit__path", "name"), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "lectures/manage/venues.html", {"page": page, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def programme_settings(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    units = org_selectors.units_in_scope(request.user, access="manage")
    unit_id = request.POST.get("unit") or request.GET.get("unit")
    unit = get_object_or_404(units, pk=unit_id) if unit_id and str(unit_id).isdigit() else units.first()
    if unit is None:
        raise Http404
    rules = selectors.rules_for(unit)
    form = SettingsForm(request.POST or None, initial=rules.__dict__)
    if request.method == "POST" and form.is_valid():
        try:
            services.programme_settings_save(actor=request.user, unit=unit, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Settings saved for %(unit)s and the units under it.") % {"unit": unit.name})
            return redirect(f"{reverse('lectures:programme_settings')}?unit={unit.pk}")
    return render(
        request, "lectures/manage/settings.html",
        {"form": form, "unit": unit, "units": units[:500], "inherited": rules.source_unit_id not in (None, unit.pk)},
    )

