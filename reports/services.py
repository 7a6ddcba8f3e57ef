"""Writes of the reports app: asking for a report, building it, retrying, expiring files,
and the quarterly subscriptions.

Every request is validated whole before anything is written (kind, format, unit in the
requester's scope, a period that has begun …), so bad input creates no run. A build is
safe to run any number of times: each attempt claims the run with a fresh token, writes
to a temporary file and renames it into place; an attempt that lost its claim (because
a redelivered task took over) stops at its next progress report and touches nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import hashlib
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from org import services as org_services
from org.models import OrgUnit, User
from reports import selectors
from reports.models import ReportFormat, ReportKind, ReportRun, ReportSubscription
from reports.rows import Window, half_window, last_ended_quarter, people_of, quarter_window
from reports.writers import ReportBuildError

log = logging.getLogger(__name__)

FORMATS: dict[str, tuple[str, ...]] = {
    ReportKind.QUARTERLY: (ReportFormat.XLSX, ReportFormat.PDF),
    ReportKind.BRIEFING: (ReportFormat.XLSX, ReportFormat.PDF),
    ReportKind.ATTENDANCE: (ReportFormat.XLSX, ReportFormat.CSV),
    ReportKind.LEARNING_RECORD: (ReportFormat.PDF, ReportFormat.XLSX),
    ReportKind.LEARNING_RECORDS: (ReportFormat.ZIP,),
}
# Which inputs each kind takes (anything else is refused, naming the field).
FIELDS: dict[str, tuple[str, ...]] = {
    ReportKind.QUARTERLY: ("unit", "year", "quarter"),
    ReportKind.BRIEFING: ("unit", "year", "half"),
    ReportKind.ATTENDANCE: ("unit", "date_from", "date_to"),
    ReportKind.LEARNING_RECORD: ("person", "year"),
    ReportKind.LEARNING_RECORDS: ("unit", "year"),
}
MIN_YEAR, MAX_YEAR = 2000, 2100


class Superseded(Exception):
    """This build attempt lost its claim on the run: another attempt took it over."""


# --- Validation ---------------------------------------------------------------------------------


@dataclass
class CleanRequest:
    """A validated report request: normalised parameters and the objects they name."""

    kind: str
    fmt: str
    parameters: dict[str, Any]
    title: str
    unit: OrgUnit | None = None
    person: User | None = None
    window: Window | None = None
    year: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        payload = json.dumps({"kind": self.kind, "fmt": self.fmt, **self.parameters}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


def _int(raw: dict, name: str, errors: dict[str, list[str]], *, label: str) -> int | None:
    value = raw.get(name)
    if value in (None, ""):
        errors[name] = [_("Enter the %(what)s.") % {"what": label}]
        return None
    if isinstance(value, bool):
        errors[name] = [_("The %(what)s must be a whole number.") % {"what": label}]
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        errors[name] = [_("The %(what)s must be a whole number, not “%(value)s”.") % {
            "what": label, "value": str(value)[:20]}]
        return None
    return number


def _date(raw: dict, name: str, errors: dict[str, list[str]], *, label: str) -> dt.date | None:
    value = raw.get(name)
    if value in (None, ""):
        errors[name] = [_("Enter the %(what)s.") % {"what": label}]
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        errors[name] = [_("The %(what)s must be a date like 2025-07-01, not “%(value)s”.") % {
            "what": label, "value": str(value)[:20]}]
        return None


def _year(raw: dict, errors: dict[str, list[str]]) -> int | None:
    year = _int(raw, "year", errors, label=_("year"))
    if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
        errors["year"] = [_("The year must be between %(min)s and %(max)s.") % {"min": MIN_YEAR, "max": MAX_YEAR}]
        return None
    return year


def _unit(requester: User, raw: dict, errors: dict[str, list[str]]) -> OrgUnit | None:
    unit_id = _int(raw, "unit", errors, label=_("unit"))
    if unit_id is None:
        return None
    unit = selectors.units_for_reports(requester).filter(pk=unit_id).first()
    if unit is None:
        # The same words for a unit that does not exist and one outside the scope.
        errors["unit"] = [_("Unit %(id)s is not in your reporting scope: choose one of the units you "
                            "administer or manage.") % {"id": unit_id}]
    return unit


def _local_today() -> dt.date:
    return timezone.localdate()


def clean_request(*, requester: User, kind: str, raw: dict[str, Any]) -> CleanRequest:
    """Validate a request whole; ValidationError({field: [message]}) or PermissionDenied."""
    if kind not in ReportKind.values:
        raise ValidationError({"kind": [_("Unknown report kind “%(kind)s”: choose one of %(kinds)s.") % {
            "kind": str(kind)[:40], "kinds": ", ".join(ReportKind.values)}]})
    raw = dict(raw)
    fmt = str(raw.pop("format", "") or FORMATS[kind][0])
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(raw) - set(FIELDS[kind]))
    for name in unknown:
        errors[name] = [_("A %(kind)s does not take “%(field)s”.") % {"kind": ReportKind(kind).label, "field": name}]
    if fmt not in FORMATS[kind]:
        errors["format"] = [_("A %(kind)s comes as %(formats)s, not “%(fmt)s”.") % {
            "kind": ReportKind(kind).label, "formats": " / ".join(FORMATS[kind]), "fmt": fmt[:10]}]
    if kind != ReportKind.LEARNING_RECORD and not selectors.can_use_reports(requester):
        raise PermissionDenied(_("Unit reports are for unit admins, managers and system admins."))

    req = CleanRequest(kind=kind, fmt=fmt, parameters={}, title="")
    if kind in (ReportKind.QUARTERLY, ReportKind.BRIEFING):
        req.unit = _unit(requester, raw, errors)
        req.year = _year(raw, errors)
        part = "quarter" if kind == ReportKind.QUARTERLY else "half"
        index = _int(raw, part, errors, label=_("quarter") if part == "quarter" else _("half year"))
        top = 4 if part == "quarter" else 2
        if index is not None and not 1 <= index <= top:
            errors[part] = [
                _("A quarter is 1 to 4, not %(value)s.") % {"value": index} if part == "quarter"
                else _("A half year is 1 (January–June) or 2 (July–December), not %(value)s.") % {"value": index}
            ]
            index = None
        if req.year is not None and index is not None:
            req.window = quarter_window(req.year, index) if part == "quarter" else half_window(req.year, index)
            if not req.window.has_started:
                errors[part] = [_("%(period)s has not begun yet: reports cover periods that have started.")
                                % {"period": req.window.label()}]
        if req.unit and req.window:
            req.parameters = {"unit": req.unit.pk, "year": req.year, part: index}
            req.title = f"{ReportKind(kind).label} · {req.unit.name} · {req.window.label()}"
    elif kind == ReportKind.ATTENDANCE:
        req.unit = _unit(requester, raw, errors)
        req.date_from = _date(raw, "date_from", errors, label=_("first day"))
        req.date_to = _date(raw, "date_to", errors, label=_("last day"))
        today = _local_today()
        if req.date_from and req.date_from > today:
            errors["date_from"] = [_("The first day %(day)s is in the future.") % {"day": req.date_from}]
        if req.date_from and req.date_to:
            if req.date_to < req.date_from:
                errors["date_to"] = [_("The last day must not be before the first day.")]
            elif (req.date_to - req.date_from).days + 1 > settings.REPORTS_ATTENDANCE_MAX_DAYS:
                errors["date_to"] = [_("An attendance export covers at most %(n)s days.")
                                     % {"n": settings.REPORTS_ATTENDANCE_MAX_DAYS}]
        if req.unit and req.date_from and req.date_to:
            req.parameters = {"unit": req.unit.pk, "date_from": req.date_from.isoformat(),
                              "date_to": req.date_to.isoformat()}
            req.title = f"{ReportKind(kind).label} · {req.unit.name} · {req.date_from} – {req.date_to}"
    elif kind == ReportKind.LEARNING_RECORD:
        req.year = _year(raw, errors)
        person_id = raw.get("person")
        if person_id in (None, ""):
            req.person = requester
        else:
            pid = _int(raw, "person", errors, label=_("person"))
            person = (selectors.people_for_records(requester).filter(pk=pid).select_related("unit").first()
                      if pid is not None else None)
            if pid is not None and person is None:
                errors["person"] = [_("You may ask only for your own learning record or for people in the "
                                      "units you administer or manage.")]
            req.person = person
        if req.year is not None and req.year > _local_today().year:
            errors["year"] = [_("%(year)s has not begun yet.") % {"year": req.year}]
        if req.person and req.year and "year" not in errors:
            req.unit = req.person.unit
            req.parameters = {"person": req.person.pk, "year": req.year}
            req.title = f"{ReportKind(kind).label} · {req.person.name} · {req.year}"
    elif kind == ReportKind.LEARNING_RECORDS:
        req.unit = _unit(requester, raw, errors)
        req.year = _year(raw, errors)
        if req.year is not None and req.year > _local_today().year:
            errors["year"] = [_("%(year)s has not begun yet.") % {"year": req.year}]
        if req.unit is not None:
            count = people_of(req.unit).count()
            if count > settings.REPORTS_BULK_MAX_PEOPLE:
                errors["unit"] = [_("%(unit)s has %(n)s people; a bulk download takes at most %(max)s. "
                                    "Choose a smaller unit.") % {
                    "unit": req.unit.name, "n": count, "max": settings.REPORTS_BULK_MAX_PEOPLE}]
            elif count == 0:
                errors["unit"] = [_("%(unit)s has no active people.") % {"unit": req.unit.name}]
        if req.unit and req.year and not errors:
            req.parameters = {"unit": req.unit.pk, "year": req.year}
            req.title = f"{ReportKind(kind).label} · {req.unit.name} · {req.year}"
    if errors:
        raise ValidationError(errors)
    return req


# --- Requests -------------------------------------------------------------------------------------


def report_request(
    *, requester: User, kind: str, raw: dict[str, Any], subscription: ReportSubscription | None = None
) -> tuple[ReportRun, bool]:
    """Ask for a report. Returns (run, created): while the same report (same kind, format
    and parameters) of the same requester is queued or running, that run is returned and
    nothing new is built."""
    req = clean_request(requester=requester, kind=kind, raw=raw)
    with transaction.atomic():
        existing = ReportRun.objects.active().filter(requested_by=requester, fingerprint=req.fingerprint).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                run = ReportRun.objects.create(
                    kind=req.kind, fmt=req.fmt, parameters=req.parameters, fingerprint=req.fingerprint,
                    title=req.title[:200], scope_unit=req.unit, subject=req.person, requested_by=requester,
                    subscription=subscription,
                )
        except IntegrityError:
            # A concurrent identical request won the race (partial unique constraint).
            return ReportRun.objects.active().get(requested_by=requester, fingerprint=req.fingerprint), False
        _enqueue(run.pk)
    return run, True


def _enqueue(run_id: int) -> None:
    from reports import tasks

    transaction.on_commit(lambda: tasks.build_report.delay(run_id))


@transaction.atomic
def report_retry(*, run: ReportRun, actor: User) -> ReportRun:
    """Queue a failed run again (only its requester may, and only while still in scope)."""
    run = ReportRun.objects.select_for_update().get(pk=run.pk)
    if run.requested_by_id != actor.pk:
        raise PermissionDenied(_("Only the person who asked for a report may retry it."))
    if run.status != ReportRun.Status.FAILED:
        raise ValidationError({"status": [_("Only a failed report can be retried; this one is %(status)s.")
                                          % {"status": run.get_status_display()}]})
    if ReportRun.objects.active().filter(requested_by=actor, fingerprint=run.fingerprint).exists():
        raise ValidationError({"status": [_("The same report is already being built.")]})
    run.status = ReportRun.Status.QUEUED
    run.progress = 0
    run.progress_note = ""
    run.error = ""
    run.claim = ""
    run.finished_at = None
    run.save(update_fields=["status", "progress", "progress_note", "error", "claim", "finished_at"])
    _enqueue(run.pk)
    return run


# --- Building -------------------------------------------------------------------------------------


def _claim(run_id: int) -> tuple[ReportRun, str] | None:
    """Take the run for this attempt. None when there is nothing to do (finished, failed,
    expired or gone): re-running a finished run does nothing."""
    with transaction.atomic():
        run = ReportRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status not in ReportRun.ACTIVE:
            return None
        token = secrets.token_hex(8)
        now = timezone.now()
        run.status = ReportRun.Status.RUNNING
        run.claim = token
        run.attempts += 1
        run.started_at = now
        run.heartbeat_at = now
        run.progress = 0
        run.progress_note = _("Starting")
        run.error = ""
        run.save(update_fields=["status", "claim", "attempts", "started_at", "heartbeat_at", "progress",
                                "progress_note", "error"])
    return run, token


class Progress:
    """Writes progress to the run row (throttled) and notices when the claim was lost."""

    def __init__(self, run_id: int, claim: str, *, interval: float = 1.0) -> None:
        self.run_id = run_id
        self.claim = claim
        self.interval = interval
        self._last = 0.0
        self._percent = -1

    def __call__(self, percent: float, note: str = "") -> None:
        percent = max(0, min(99, int(percent)))
        now = time.monotonic()
        if percent == self._percent and now - self._last < self.interval * 5:
            return
        if now - self._last < self.interval and percent - self._percent < 5:
            return
        self._last, self._percent = now, percent
        updated = ReportRun.objects.filter(pk=self.run_id, claim=self.claim).update(
            progress=percent, progress_note=note[:200], heartbeat_at=timezone.now()
        )
        if not updated:
            raise Superseded


def _final_name(run: ReportRun) -> str:
    return f"reports/{run.created_at:%Y}/{run.token}.{run.fmt}"


def _download_name(run: ReportRun) -> str:
    safe = "".join(ch for ch in run.title.replace(" · ", "_") if ch not in '\\/:*?"<>|\r\n').strip()
    return f"{safe or run.kind}.{run.fmt}"[:200]


def report_build(*, run_id: int) -> ReportRun | None:
    """Build the run's file (called by the Celery task; safe to call any number of times)."""
    from reports import builders

    claimed = _claim(run_id)
    if claimed is None:
        return None
    run, claim = claimed
    progress = Progress(run.pk, claim)
    final_name = _final_name(run)
    final_path = default_storage.path(final_name)
    tmp_path = f"{final_path}.{claim}.part"
    os.makedirs(os.path.dirname(final_path), exist_ok=True)
    # Half-written files of attempts that died (their claim is gone) are dropped.
    for stale in glob.glob(glob.escape(final_path) + ".*.part"):
        with contextlib.suppress(OSError):
            os.remove(stale)
    try:
        requester = User.objects.get(pk=run.requested_by_id)
        raw = {**run.parameters, "format": run.fmt}
        # Re-validated as the requester is now: a unit that left their scope is not built.
        req = clean_request(requester=requester, kind=run.kind, raw=raw)
        row_count = builders.build(run=run, req=req, requester=requester, path=tmp_path, progress=progress)
        # Still ours? Then put the file in place (atomic rename) and finish.
        with transaction.atomic():
            current = ReportRun.objects.select_for_update().get(pk=run.pk)
            if current.claim != claim or current.status != ReportRun.Status.RUNNING:
                raise Superseded
            os.replace(tmp_path, final_path)
            now = timezone.now()
            current.status = ReportRun.Status.SUCCEEDED
            current.file.name = final_name
            current.file_name = _download_name(current)
            current.file_size = os.path.getsize(final_path)
            current.row_count = row_count
            current.progress = 100
            current.progress_note = _("Ready")
            current.finished_at = now
            current.heartbeat_at = now
            current.expires_at = now + dt.timedelta(days=settings.REPORTS_FILE_TTL_DAYS)
            current.save()
        if current.subscription_id:
            _notify_ready(current)
        return current
    except Superseded:
        log.info("Report run %s: attempt %s was superseded by a newer one", run_id, claim)
        return None
    except (OperationalError, InterfaceError):
        # The database went away: the task retries; the run stays claimed until then.
        raise
    except (ValidationError, PermissionDenied, Http404, ReportBuildError) as exc:
        return _fail(run.pk, claim, _readable(exc))
    except DatabaseError:
        log.exception("Report run %s failed in the database", run_id)
        return _fail(run.pk, claim, _internal_error(run.pk))
    except Exception:
        log.exception("Report run %s failed", run_id)
        return _fail(run.pk, claim, _internal_error(run.pk))
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)


def _readable(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return " ".join(m for msgs in exc.message_dict.values() for m in msgs)
        return " ".join(exc.messages)
    if isinstance(exc, Http404):
        return _("What this report is about is no longer in your scope.")
    return str(exc) or _("You may no longer ask for this report.")


def _internal_error(run_id: int) -> str:
    return _("The report could not be built because of an internal error (reference: run %(id)s). "
             "Try again; if it fails again, tell the system administrator.") % {"id": run_id}


def _fail(run_id: int, claim: str, message: str) -> ReportRun | None:
    updated = ReportRun.objects.filter(pk=run_id, claim=claim).update(
        status=ReportRun.Status.FAILED, error=message, finished_at=timezone.now(), heartbeat_at=timezone.now()
    )
    if not updated:
        return None
    run = ReportRun.objects.select_related("requested_by").get(pk=run_id)
    if run.subscription_id:
        org_services.notification_send(
            recipients=[run.requested_by],
            title=_("Your scheduled report could not be built"),
            body=f"{run.title}\n{message}",
            link=reverse("reports:centre"),
            kind="report",
        )
    return run


def _notify_ready(run: ReportRun) -> None:
    org_services.notification_send(
        recipients=[run.requested_by],
        title=_("Your report is ready: %(title)s") % {"title": run.title},
        body=_("It is in the download centre until %(date)s.") % {
            "date": timezone.localtime(run.expires_at).strftime("%Y-%m-%d %H:%M")},
        link=reverse("reports:centre"),
        kind="report",
    )


# --- Housekeeping (beat) ------------------------------------------------------------------------------


def reports_purge_expired(*, now: dt.datetime | None = None) -> int:
    """Delete the files of runs past their expiry; the rows stay (as "expired") for the record."""
    now = now or timezone.now()
    purged = 0
    for run in ReportRun.objects.filter(status=ReportRun.Status.SUCCEEDED, expires_at__lte=now).order_by("pk"):
        with transaction.atomic():
            locked = ReportRun.objects.select_for_update().filter(pk=run.pk, status=ReportRun.Status.SUCCEEDED).first()
            if locked is None:
                continue
            name = locked.file.name
            locked.status = ReportRun.Status.EXPIRED
            locked.file = ""
            locked.save(update_fields=["status", "file"])
            if name:
                transaction.on_commit(lambda name=name: default_storage.delete(name))
        purged += 1
    return purged


def runs_requeue_stalled(*, now: dt.datetime | None = None) -> int:
    """Queue again runs whose build stopped reporting (a lost message, a crashed host).

    A redelivered task normally does this by itself (acks late); this catches the rest.
    """
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=settings.REPORTS_STALE_SECONDS)
    ids = list(
        ReportRun.objects.filter(status=ReportRun.Status.RUNNING, heartbeat_at__lt=stale).values_list("pk", flat=True)
    ) + list(ReportRun.objects.filter(status=ReportRun.Status.QUEUED, created_at__lt=stale).values_list("pk", flat=True))
    for run_id in ids:
        with transaction.atomic():
            _enqueue(run_id)
    return len(ids)


# --- Subscriptions ---------------------------------------------------------------------------------


@transaction.atomic
def subscription_create(*, subscriber: User, unit: OrgUnit | None, fmt: str = ReportFormat.XLSX) -> ReportSubscription:
    """Subscribe to the quarterly report of a unit in the subscriber's reporting scope."""
    if not selectors.can_use_reports(subscriber):
        raise PermissionDenied(_("Unit reports are for unit admins, managers and system admins."))
    errors: dict[str, list[str]] = {}
    if unit is None or not selectors.covers_unit(subscriber, unit):
        errors["unit"] = [_("Choose one of the units you administer or manage.")]
    if fmt not in FORMATS[ReportKind.QUARTERLY]:
        errors["format"] = [_("The quarterly report comes as %(formats)s.") % {
            "formats": " / ".join(FORMATS[ReportKind.QUARTERLY])}]
    if not errors and ReportSubscription.objects.filter(
        subscriber=subscriber, unit=unit, kind=ReportKind.QUARTERLY, fmt=fmt
    ).exclude(is_active=False).exists():
        errors["unit"] = [_("You already receive this report for %(unit)s.") % {"unit": unit.name}]
    if errors:
        raise ValidationError(errors)
    sub, _created = ReportSubscription.objects.update_or_create(
        subscriber=subscriber, unit=unit, kind=ReportKind.QUARTERLY, fmt=fmt,
        # Start with the quarter that ended last: the first delivery is the next one.
        defaults={"is_active": True, "last_period": last_ended_quarter().key},
    )
    return sub


@transaction.atomic
def subscription_cancel(*, subscription: ReportSubscription, actor: User) -> None:
    if subscription.subscriber_id != actor.pk:
        raise PermissionDenied(_("Only the subscriber may cancel a subscription."))
    subscription.delete()


def subscriptions_deliver(*, now: dt.datetime | None = None) -> int:
    """Request the quarterly report of every subscription not yet delivered for the quarter
    that just ended. Safe to run every day: each quarter is delivered once."""
    window = last_ended_quarter(now)
    delivered = 0
    for sub in selectors.due_subscriptions(window.key):
        with transaction.atomic():
            locked = ReportSubscription.objects.select_for_update().filter(pk=sub.pk).first()
            if locked is None or locked.last_period == window.key or not locked.is_active:
                continue
            try:
                report_request(
                    requester=sub.subscriber, kind=ReportKind.QUARTERLY, subscription=locked,
                    raw={"unit": sub.unit_id, "year": window.year, "quarter": window.index, "format": locked.fmt},
                )
            except (ValidationError, PermissionDenied):
                # The unit left the subscriber's scope: stop, and say so once.
                locked.is_active = False
                org_services.notification_send(
                    recipients=[sub.subscriber],
                    title=_("Your report subscription for %(unit)s has ended") % {"unit": sub.unit.name},
                    body=_("The unit is no longer in your reporting scope."),
                    link=reverse("reports:centre"),
                    kind="report",
                )
            locked.last_period = window.key
            locked.save(update_fields=["last_period", "is_active"])
            delivered += 1
    return delivered

