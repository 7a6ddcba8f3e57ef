"""Report runs: one run per request while it is being built, validation before anything is
written, builds that survive a dead worker, failures that can be retried, expiring files."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext

from reports import services
from reports.models import ReportRun
from reports.rows import quarter_window

from .conftest import fresh

pytestmark = pytest.mark.django_db


def ask(user, kind="quarterly", **raw):
    return services.report_request(requester=fresh(user), kind=kind, raw=raw)


def quarterly_raw(cast, quarter, **extra):
    return {"unit": cast.tree.district_a.pk, "year": quarter.year, "quarter": quarter.index, **extra}


# --- One run per request ---------------------------------------------------------------------


def test_asking_again_while_queued_returns_the_same_run(cast, quarter):
    first, created = ask(cast.manager, **quarterly_raw(cast, quarter))
    again, created_again = ask(cast.manager, **quarterly_raw(cast, quarter, format="xlsx"))
    assert created and not created_again and again.pk == first.pk
    assert ReportRun.objects.count() == 1


def test_other_parameters_or_another_person_get_their_own_run(cast, quarter):
    first, _ = ask(cast.manager, **quarterly_raw(cast, quarter))
    pdf, created_pdf = ask(cast.manager, **quarterly_raw(cast, quarter, format="pdf"))
    other, created_other = ask(cast.unit_admin, **quarterly_raw(cast, quarter))
    assert created_pdf and created_other and len({first.pk, pdf.pk, other.pk}) == 3


def test_a_finished_run_does_not_block_a_new_request(cast, quarter, request_report):
    done = request_report(cast.manager, "quarterly", **quarterly_raw(cast, quarter))
    assert done.status == ReportRun.Status.SUCCEEDED
    again, created = ask(cast.manager, **quarterly_raw(cast, quarter))
    assert created and again.pk != done.pk


def test_the_database_refuses_two_active_runs_with_the_same_fingerprint(cast, quarter):
    from django.db import IntegrityError, transaction

    run, _ = ask(cast.manager, **quarterly_raw(cast, quarter))
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportRun.objects.create(kind=run.kind, fmt=run.fmt, fingerprint=run.fingerprint,
                                 requested_by=cast.manager, status=ReportRun.Status.RUNNING)


# --- Bad input: a clear message, and nothing created -------------------------------------------


@pytest.mark.parametrize(
    ("kind", "raw", "field", "words"),
    [
        ("quarterly", {"quarter": 5}, "quarter", "1 to 4"),
        ("quarterly", {"quarter": 0}, "quarter", "1 to 4"),
        ("quarterly", {"quarter": "Q3"}, "quarter", "whole number"),
        ("quarterly", {"year": 2999}, "year", "between"),
        ("quarterly", {"unit": None}, "unit", ""),
        ("quarterly", {"format": "docx"}, "format", "xlsx"),
        ("quarterly", {"colour": "red"}, "colour", "colour"),
        ("briefing", {"half": 3}, "half", "1"),
        ("attendance", {"date_from": "2026-13-01", "date_to": "2026-01-31"}, "date_from", "2025-07-01"),
        ("attendance", {"date_from": "2026-03-31", "date_to": "2026-03-01"}, "date_to", "before"),
    ],
)
def test_bad_input_names_the_field_and_builds_nothing(cast, quarter, kind, raw, field, words):
    base = {"unit": cast.tree.district_a.pk, "year": quarter.year}
    base.update({"quarter": quarter.index} if kind == "quarterly" else {"half": 1} if kind == "briefing" else {})
    if kind == "attendance":
        base = {"unit": cast.tree.district_a.pk}
    base.update(raw)
    base = {k: v for k, v in base.items() if v is not None}
    with pytest.raises(ValidationError) as info:
        ask(cast.manager, kind, **base)
    assert field in info.value.message_dict
    assert words in " ".join(info.value.message_dict[field])
    assert ReportRun.objects.count() == 0


def test_a_future_quarter_is_refused(cast):
    now = timezone.localtime()
    next_q = quarter_window(now.year + 1, 1)
    with pytest.raises(ValidationError) as info:
        ask(cast.manager, unit=cast.tree.district_a.pk, year=next_q.year, quarter=1)
    assert "has not begun" in info.value.message_dict["quarter"][0]
    assert ReportRun.objects.count() == 0


def test_a_unit_outside_the_scope_is_refused_like_a_missing_one(cast, quarter):
    for unit_id in (cast.tree.district_b.pk, 999_999):
        with pytest.raises(ValidationError) as info:
            ask(cast.manager, unit=unit_id, year=quarter.year, quarter=quarter.index)
        assert "not in your reporting scope" in info.value.message_dict["unit"][0]
    assert ReportRun.objects.count() == 0


def test_an_unknown_kind_is_refused(cast):
    with pytest.raises(ValidationError) as info:
        ask(cast.manager, "monthly_gossip", unit=cast.tree.district_a.pk)
    assert "monthly_gossip" in info.value.message_dict["kind"][0]
    assert ReportRun.objects.count() == 0


@pytest.mark.parametrize("role", ["learner", "class_teacher"])
def test_unit_reports_are_not_for_learners_or_class_teachers(cast, quarter, role):
    with pytest.raises(PermissionDenied):
        ask(cast.role(role), **quarterly_raw(cast, quarter))
    assert ReportRun.objects.count() == 0


def test_a_learner_gets_only_their_own_learning_record(cast):
    run, created = ask(cast.learner, "learning_record", year=2026)
    assert created and run.subject_id == cast.learner.pk
    with pytest.raises(ValidationError) as info:
        ask(cast.learner, "learning_record", person=cast.inside.pk, year=2026)
    assert "your own learning record" in info.value.message_dict["person"][0]
    with pytest.raises(ValidationError):
        ask(cast.learner, "learning_record", year=timezone.localdate().year + 1)
    assert ReportRun.objects.count() == 1


def test_an_admin_gets_records_inside_the_scope_only(cast):
    run, _ = ask(cast.unit_admin, "learning_record", person=cast.inside.pk, year=2026)
    assert run.subject_id == cast.inside.pk
    with pytest.raises(ValidationError):
        ask(cast.unit_admin, "learning_record", person=cast.outside.pk, year=2026)


def test_bulk_records_refuse_a_unit_with_too_many_people(cast, settings):
    settings.REPORTS_BULK_MAX_PEOPLE = 2
    with pytest.raises(ValidationError) as info:
        ask(cast.unit_admin, "learning_records", unit=cast.tree.district_a.pk, year=2026)
    assert "at most 2" in info.value.message_dict["unit"][0]
    assert ReportRun.objects.count() == 0


# --- Builds: at least once, finished once ------------------------------------------------------


def test_rebuilding_a_finished_run_does_nothing(cast, quarter, request_report):
    run = request_report(cast.manager, "quarterly", **quarterly_raw(cast, quarter))
    path = default_storage.path(run.file.name)
    before = (os.path.getmtime(path), run.finished_at, run.attempts)
    assert services.report_build(run_id=run.pk) is None
    run.refresh_from_db()
    assert (os.path.getmtime(path), run.finished_at, run.attempts) == before


def test_a_run_left_running_by_a_dead_worker_is_built_once_when_redelivered(cast, quarter):
    run, _ = ask(cast.manager, **quarterly_raw(cast, quarter))
    # The first worker claimed the run, wrote half a file and died.
    claimed, claim = services._claim(run.pk)
    partial = default_storage.path(services._final_name(claimed)) + f".{claim}.part"
    os.makedirs(os.path.dirname(partial), exist_ok=True)
    with open(partial, "wb") as f:
        f.write(b"half a workbook")
    # The broker redelivers the message (acks late): the next attempt takes over.
    done = services.report_build(run_id=run.pk)
    assert done.status == ReportRun.Status.SUCCEEDED and done.attempts == 2
    folder = os.path.dirname(default_storage.path(done.file.name))
    assert os.listdir(folder) == [os.path.basename(done.file.name)]  # the half-written file is gone
    # A stale copy of the dead attempt cannot report progress or finish any more.
    with pytest.raises(services.Superseded):
        services.Progress(run.pk, claim)(50, "late")


def test_an_attempt_that_lost_its_claim_stops_without_touching_the_file(cast, quarter, monkeypatch):
    run, _ = ask(cast.manager, **quarterly_raw(cast, quarter))
    from reports import builders

    real = builders.build

    def build_then_lose_claim(**kwargs):
        count = real(**kwargs)
        ReportRun.objects.filter(pk=run.pk).update(claim="someone-else")
        return count

    monkeypatch.setattr(builders, "build", build_then_lose_claim)
    assert services.report_build(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.status == ReportRun.Status.RUNNING and not run.file
    assert not os.path.exists(default_storage.path(services._final_name(run)))


def test_a_failure_shows_a_readable_error_and_can_be_retried(cast, quarter, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    from reports import builders

    def explode(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(builders, "build", explode)
    with django_capture_on_commit_callbacks(execute=True):
        run, _ = ask(cast.manager, **quarterly_raw(cast, quarter))
    run.refresh_from_db()
    assert run.status == ReportRun.Status.FAILED
    assert "internal error" in run.error and f"run {run.pk}" in run.error and "disk" not in run.error

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        services.report_retry(run=run, actor=fresh(cast.manager))
    run.refresh_from_db()
    assert run.status == ReportRun.Status.SUCCEEDED and run.error == "" and run.attempts == 2


def test_only_the_requester_may_retry_and_only_a_failed_run(cast, quarter):
    run, _ = ask(cast.manager, **quarterly_raw(cast, quarter))
    with pytest.raises(ValidationError):
        services.report_retry(run=run, actor=fresh(cast.manager))
    ReportRun.objects.filter(pk=run.pk).update(status=ReportRun.Status.FAILED)
    with pytest.raises(PermissionDenied):
        services.report_retry(run=run, actor=fresh(cast.unit_admin))


def test_a_unit_that_left_the_scope_before_the_build_is_not_built(cast, quarter):
    run, _ = ask(cast.manager, **quarterly_raw(cast, quarter))
    cast.manager.grants.all().delete()
    done = services.report_build(run_id=run.pk)
    assert done.status == ReportRun.Status.FAILED
    assert done.error == gettext("Unit reports are for unit admins, managers and system admins.")
    assert not done.file


# --- Expiry -----------------------------------------------------------------------------------------


def test_expired_files_are_deleted_and_the_run_is_marked_expired(cast, quarter, request_report,
                                                                 django_capture_on_commit_callbacks):
    run = request_report(cast.manager, "quarterly", **quarterly_raw(cast, quarter))
    path = default_storage.path(run.file.name)
    assert run.expires_at - run.finished_at == dt.timedelta(days=7)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reports_purge_expired(now=run.expires_at - dt.timedelta(seconds=1)) == 0
        assert services.reports_purge_expired(now=run.expires_at) == 1
    run.refresh_from_db()
    assert run.status == ReportRun.Status.EXPIRED and not run.file and not os.path.exists(path)


def test_stalled_runs_are_queued_again(cast, quarter, django_capture_on_commit_callbacks, settings):
    run, _ = ask(cast.manager, **quarterly_raw(cast, quarter))
    ReportRun.objects.filter(pk=run.pk).update(
        status=ReportRun.Status.RUNNING, heartbeat_at=timezone.now() - dt.timedelta(hours=1), claim="dead")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.runs_requeue_stalled() == 1
    run.refresh_from_db()
    assert run.status == ReportRun.Status.SUCCEEDED


def test_the_build_task_is_acknowledged_late_and_requeued_if_the_worker_dies():
    from django.conf import settings

    from learning_portal.celery import app
    from reports import tasks

    assert tasks.build_report.acks_late is True
    assert tasks.build_report.reject_on_worker_lost is True
    assert app.amqp.router.route({}, "reports.tasks.build_report")["queue"].name == "reports"
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
