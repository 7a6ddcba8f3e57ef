"""Who may ask for which report, and the runs and subscriptions a person may see.

Unit reports (quarterly report, briefing, attendance, bulk learning records) are for
unit admins, managers and system admins, for units inside the subtrees of those grants.
A learning record (学习档案) is for the person themselves and for those admins/managers.
A run is only ever visible to the person who asked for it, and a download re-checks the
requester's *current* scope: the run id alone never gives access to a file.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from org import selectors as org_selectors
from org.models import OrgUnit, Role, User
from reports.models import ReportKind, ReportRun, ReportSubscription

REPORT_ROLES = frozenset({Role.UNIT_ADMIN, Role.MANAGER})
UNIT_KINDS = frozenset(
    {ReportKind.QUARTERLY, ReportKind.BRIEFING, ReportKind.ATTENDANCE, ReportKind.LEARNING_RECORDS}
)


def report_paths(user: User) -> tuple[str, ...] | None:
    """Subtrees the user may report on (None = everything, () = nothing).

    Only unit-admin and manager grants count: a class teacher follows learners' progress
    but does not get the organisation's reports.
    """
    scope = org_selectors.scope_for(user)
    if scope.is_global:
        return None
    if not scope.roles & REPORT_ROLES:
        return ()
    # The org app's "personal details" subtrees are exactly those of admin and manager grants.
    return org_selectors.personal_detail_paths(user)


def can_use_reports(user: User) -> bool:
    """True for system admins, unit admins and managers (the 报表中心 menu)."""
    paths = report_paths(user)
    return paths is None or bool(paths)


def units_for_reports(user: User) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.within(report_paths(user)).order_by("path")


def covers_unit(user: User, unit: OrgUnit | None) -> bool:
    if unit is None:
        return False
    paths = report_paths(user)
    return paths is None or any(unit.path.startswith(p) for p in paths)


def can_see_record_of(user: User, person: User) -> bool:
    """Anyone may see their own learning record; admins and managers those in their subtree."""
    return person.pk == user.pk or covers_unit(user, person.unit)


def people_for_records(user: User) -> QuerySet[User]:
    """People whose learning record the user may ask for."""
    paths = report_paths(user)
    if paths is None:
        return User.objects.all()
    if not paths:
        return User.objects.filter(pk=user.pk)
    return User.objects.in_units(paths) | User.objects.filter(pk=user.pk)


def runs_of(user: User) -> QuerySet[ReportRun]:
    """The user's own runs, newest first (the download centre)."""
    return ReportRun.objects.of(user).select_related("scope_unit", "subject").order_by("-created_at", "-id")


def run_of(user: User, pk: int) -> ReportRun:
    """One of the user's own runs; Http404 for anyone else's (even a system admin's)."""
    run = runs_of(user).filter(pk=pk).first()
    if run is None:
        raise Http404
    return run


def still_allowed(user: User, run: ReportRun) -> bool:
    """Whether the requester's current scope still covers what the run reports on."""
    if run.kind in UNIT_KINDS:
        return covers_unit(user, run.scope_unit)
    if run.subject_id is not None:
        subject = run.subject
        return subject is not None and can_see_record_of(user, subject)
    return False


def run_for_download(user: User, pk: int) -> ReportRun:
    """A finished, unexpired run of the user's own whose subject is still in their scope.

    Http404 otherwise: someone else's run, a run not ready yet, an expired file, or a unit
    that left the requester's scope since they asked.
    """
    run = run_of(user, pk)
    if not run.is_ready or (run.expires_at and run.expires_at <= timezone.now()):
        raise Http404
    if not still_allowed(user, run):
        raise Http404
    return run


def subscriptions_of(user: User) -> QuerySet[ReportSubscription]:
    return ReportSubscription.objects.filter(subscriber=user).select_related("unit").order_by("unit__path", "id")


def subscription_of(user: User, pk: int) -> ReportSubscription:
    sub = subscriptions_of(user).filter(pk=pk).first()
    if sub is None:
        raise Http404
    return sub


def due_subscriptions(period_key: str) -> QuerySet[ReportSubscription]:
    """Active subscriptions that have not yet been delivered for `period_key`."""
    return (
        ReportSubscription.objects.filter(is_active=True, subscriber__is_active=True)
        .exclude(last_period=period_key)
        .select_related("subscriber", "unit")
        .order_by("pk")
    )


def has_active_runs(runs) -> bool:
    return any(r.is_active for r in runs)


def dashboard(user: User, unit: OrgUnit, window) -> dict:
    """The manager dashboard's numbers for a unit and a quarter (the caller checked scope).

    The same `period_figures` + `summary_items` as the quarterly report; cached for a few
    minutes because they cost one pass over the subtree's ledger.
    """
    from django.conf import settings
    from django.core.cache import cache

    from reports import rows

    key = f"reports:dashboard:{unit.pk}:{window.key}:{timezone.localdate().isoformat()}"
    data = cache.get(key)
    if data is None:
        with rows.whole_result_plans():
            data = rows.dashboard_data(rows.period_figures(user, unit, window))
        cache.set(key, data, settings.REPORTS_DASHBOARD_CACHE_SECONDS)
    return data
