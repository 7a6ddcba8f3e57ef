"""Pages every person uses: upcoming classes, the calendar, a class, check-in, the annual
menu, my declarations, the teaching-materials library, the calendar feed."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from learning_portal.uploads import protected_file_response
from org import selectors as org_selectors
from sessions import checkin, ical, selectors, services
from sessions.forms import CodeForm, DeclarationForm, WishForm, apply_errors
from sessions.models import CalendarFeed, Menu, Session, Wish


def _visible_session(request: HttpRequest, pk: int) -> Session:
    try:
        return selectors.session_detail(request.user, pk)
    except Session.DoesNotExist:
        raise Http404 from None


def _first_message(error: ValidationError) -> str:
    return " ".join(m for msgs in error.message_dict.values() for m in msgs) if hasattr(error, "error_dict") else " ".join(error.messages)


def home_panel(request: HttpRequest) -> str | None:
    """The home page's "next micro-classes" panel (HOME_PANELS)."""
    if not request.user.is_authenticated:
        return None
    upcoming = list(selectors.upcoming_for(request.user)[:5])
    open_menus = list(
        selectors.menus_visible_to(request.user).filter(status=Menu.Status.PUBLISHED, year=timezone.localdate().year)[:3]
    )
    return render_to_string(
        "lectures/_home_panel.html", {"upcoming": upcoming, "open_menus": open_menus}, request=request
    )


@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    """Upcoming classes the person may attend (or runs), soonest first."""
    sessions = selectors.upcoming_for(request.user)
    track = request.GET.get("track")
    if track and track.isdigit():
        sessions = sessions.filter(track_id=int(track))
    page = Paginator(sessions, 20).get_page(request.GET.get("page"))
    return render(
        request, "lectures/session_list.html",
        {"page": page, "tracks": selectors.tracks_active(), "track": track, "now": timezone.now()},
    )


@login_required
def calendar_month(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    try:
        year = int(request.GET.get("year", today.year))
        month = int(request.GET.get("month", today.month))
        first = dt.date(year, month, 1)
    except ValueError:
        year, month, first = today.year, today.month, today.replace(day=1)
    prev_month = (first - dt.timedelta(days=1)).replace(day=1)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    return render(
        request, "lectures/calendar.html",
        {"weeks": selectors.month_calendar(request.user, year=year, month=month), "first": first,
         "prev": prev_month, "next": next_month, "today": today},
    )


@login_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = _visible_session(request, pk)
    user = request.user
    now = timezone.now()
    context = {
        "session": session,
        "speakers": selectors.speakers_of(session),
        "can_manage": selectors.can_manage_session(user, session),
        "can_run_checkin": selectors.can_run_checkin(user, session),
        "in_audience": selectors.in_audience(session, user),
        "registration": session.registrations.filter(person=user).first(),
        "registered_count": session.registrations.count(),
        "attendance": session.attendance.filter(person=user).first(),
        "checkin_open": session.status == Session.Status.SCHEDULED and not session.is_online
        and session.checkin_opens_at <= now <= session.checkin_closes_at,
        "code_form": CodeForm(),
        "courseware": session.courseware.all(),
        "now": now,
    }
    return render(request, "lectures/session_detail.html", context)


@login_required
@require_POST
def register(request: HttpRequest, pk: int) -> HttpResponse:
    session = _visible_session(request, pk)
    try:
        services.registration_create(session=session, person=request.user)
    except ValidationError as error:
        messages.error(request, _first_message(error))
    else:
        messages.success(request, _("You are registered for “%(title)s”.") % {"title": session.title})
    return redirect("lectures:session_detail", pk=pk)


@login_required
@require_POST
def unregister(request: HttpRequest, pk: int) -> HttpResponse:
    session = _visible_session(request, pk)
    try:
        services.registration_cancel(session=session, person=request.user)
    except ValidationError as error:
        messages.error(request, _first_message(error))
    else:
        messages.success(request, _("Your seat was given back."))
    return redirect("lectures:session_detail", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def checkin_scan(request: HttpRequest, pk: int) -> HttpResponse:
    """Where the QR code leads. GET shows a one-tap confirmation (it submits itself with
    JavaScript); POST checks the person in. Not logging in first redirects to the login
    page, which brings the person back here with the token."""
    session = get_object_or_404(Session.objects.select_related("host_unit", "venue", "track"), pk=pk)
    token = request.POST.get("t") or request.GET.get("t", "")
    if not selectors.sessions_visible_to(request.user).filter(pk=pk).exists() and checkin.check_token(session, token):
        # Neither the audience nor holding a live code of this class: nothing to show.
        raise Http404
    if request.method == "GET":
        return render(request, "lectures/checkin_scan.html", {"session": session, "token": token})
    try:
        row = services.checkin_by_token(session=session, person=request.user, token=token)
    except ValidationError as error:
        return render(
            request, "lectures/checkin_result.html",
            {"session": session, "ok": False, "message": _first_message(error)}, status=400,
        )
    return render(request, "lectures/checkin_result.html", {"session": session, "ok": True, "row": row})


@login_required
@require_http_methods(["GET", "POST"])
def checkin_code(request: HttpRequest) -> HttpResponse:
    """Type the 6-digit code instead of scanning (for one class, or whichever fits)."""
    form = CodeForm(request.POST or None)
    session_id = request.POST.get("session") or request.GET.get("session")
    session = None
    if session_id and str(session_id).isdigit():
        session = _visible_session(request, int(session_id))
    if request.method == "POST" and form.is_valid():
        try:
            if session is not None:
                row = services.checkin_by_code(session=session, person=request.user, code=form.cleaned_data["code"])
            else:
                row = services.checkin_by_code_any(person=request.user, code=form.cleaned_data["code"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return render(request, "lectures/checkin_result.html", {"session": row.session, "ok": True, "row": row})
    return render(request, "lectures/checkin_code.html", {"form": form, "session": session})


# --- Annual menu and wishes -------------------------------------------------------------------


@login_required
def menu_list(request: HttpRequest) -> HttpResponse:
    menus = selectors.menus_visible_to(request.user).order_by("-year", "unit__path")
    page = Paginator(menus, 30).get_page(request.GET.get("page"))
    return render(request, "lectures/menu_list.html", {"page": page})


@login_required
def menu_detail(request: HttpRequest, pk: int) -> HttpResponse:
    menu = get_object_or_404(selectors.menus_visible_to(request.user), pk=pk)
    can_manage = org_selectors.can_manage_unit(request.user, menu.unit)
    member = bool(request.user.unit_id and request.user.unit.path.startswith(menu.unit.path))
    from sessions.forms import TopicForm

    return render(
        request, "lectures/menu_detail.html",
        {
            "menu": menu,
            "topics": selectors.menu_topics_with_demand(menu, request.user),
            "my_wishes": selectors.wishes_of(menu, person=request.user),
            "all_wishes": selectors.wishes_of(menu)[:200] if can_manage else None,
            "can_manage": can_manage,
            "can_choose": member and menu.status == Menu.Status.PUBLISHED,
            "wish_form": WishForm(),
            "topic_form": TopicForm() if can_manage else None,
        },
    )


@login_required
@require_POST
def menu_choices(request: HttpRequest, pk: int) -> HttpResponse:
    menu = get_object_or_404(selectors.menus_visible_to(request.user), pk=pk)
    try:
        ids = [int(t) for t in request.POST.getlist("topic")]
        services.menu_choices_set(menu=menu, person=request.user, topic_ids=ids)
    except ValueError:
        messages.error(request, _("Invalid topic."))
    except ValidationError as error:
        messages.error(request, _first_message(error))
    else:
        messages.success(request, _("Your choices were saved."))
    return redirect("lectures:menu_detail", pk=pk)


@login_required
@require_POST
def wish_add(request: HttpRequest, pk: int) -> HttpResponse:
    menu = get_object_or_404(selectors.menus_visible_to(request.user), pk=pk)
    form = WishForm(request.POST)
    if form.is_valid():
        try:
            services.wish_add(menu=menu, person=request.user, text=form.cleaned_data["text"])
        except ValidationError as error:
            messages.error(request, _first_message(error))
        else:
            messages.success(request, _("Your wish was added."))
    else:
        messages.error(request, _("Write what you would like to learn (at most 500 characters)."))
    return redirect("lectures:menu_detail", pk=pk)


@login_required
@require_POST
def wish_remove(request: HttpRequest, pk: int) -> HttpResponse:
    wish = get_object_or_404(Wish.objects.filter(person=request.user), pk=pk)
    services.wish_remove(wish=wish, person=request.user)
    return redirect("lectures:menu_detail", pk=wish.menu_id)


# --- Declarations --------------------------------------------------------------------------------


@login_required
def my_declarations(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.declarations_of(request.user), 30).get_page(request.GET.get("page"))
    return render(request, "lectures/my_declarations.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def declaration_new(request: HttpRequest) -> HttpResponse:
    form = DeclarationForm(request.POST or None, user=request.user,
                           initial={"kind": request.GET.get("kind", "regular")})
    if request.method == "POST" and form.is_valid():
        try:
            services.declaration_submit(declarer=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Your declaration was sent to your unit's admins for review."))
            return redirect("lectures:my_declarations")
    return render(request, "lectures/declaration_form.html", {"form": form})


@login_required
@require_POST
def declaration_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    declaration = get_object_or_404(selectors.declarations_of(request.user), pk=pk)
    try:
        services.declaration_withdraw(declaration=declaration, person=request.user)
    except ValidationError as error:
        messages.error(request, _first_message(error))
    return redirect("lectures:my_declarations")


# --- Library and courseware --------------------------------------------------------------------


@login_required
def library(request: HttpRequest) -> HttpResponse:
    items = selectors.library_for(request.user)
    q = request.GET.get("q", "").strip()
    if q:
        items = items.filter(Q(original_name__icontains=q) | Q(session__title__icontains=q))
    page = Paginator(items, 30).get_page(request.GET.get("page"))
    return render(request, "lectures/library.html", {"page": page, "q": q})


@login_required
@require_GET
def courseware_download(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(selectors.courseware_visible_to(request.user), pk=pk)
    return protected_file_response(item.file, download_name=item.original_name, as_attachment=item.kind != "pdf")


# --- Calendar feed ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def calendar_feed(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        feed = services.calendar_feed_reset(person=request.user)
        messages.success(request, _("A new address was made; the old one no longer works."))
    else:
        feed = services.calendar_feed_for(person=request.user)
    url = request.build_absolute_uri(reverse("lectures:ical_feed", args=[feed.token]))
    return render(request, "lectures/calendar_feed.html", {"url": url})


@require_GET
def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The subscription itself: calendar apps cannot log in, so the secret address is the key."""
    feed = get_object_or_404(CalendarFeed.objects.select_related("person__unit"), token=token)
    person = feed.person
    if not person.is_active:
        raise Http404
    sessions = selectors.calendar_sessions_for(person, since=timezone.now() - dt.timedelta(days=60))[:500]
    body = ical.render_calendar(sessions, name=_("Micro-classes"), base_url=request.build_absolute_uri("/").rstrip("/"))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response
