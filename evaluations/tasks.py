"""Background work of evaluations. Tasks take ids (or nothing), re-read rows, call one
service, and are safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from evaluations import services


@shared_task
def open_due_surveys() -> int:
    """Beat: open the satisfaction survey of every recently closed class (once each)."""
    return services.surveys_open_due()


@shared_task
def remind_due_surveys() -> int:
    """Beat: remind attendees who have not answered, once per survey, before it closes."""
    return services.surveys_remind_due()


@shared_task
def expire_due_attempts() -> int:
    """Beat: grade exam attempts whose time ran out, on their saved answers."""
    return services.attempts_expire_due()


@shared_task(acks_late=True)
def compute_nominations(year: int | None = None) -> dict:
    """Compute the award nominations of a year (default: this year and, in January and
    February, last year too — the awards of a year are decided early the next)."""
    today = timezone.localdate()
    years = [year] if year else ([today.year - 1, today.year] if today.month <= 2 else [today.year])
    result = {}
    for y in years:
        summary = services.nominations_compute(year=y)
        result[y] = {"created": summary.created, "updated": summary.updated, "withdrawn": summary.withdrawn}
    return result


@shared_task(acks_late=True)
def notify_exam_published(exam_id: int) -> int:
    """Tell an exam's audience it is open (a no-op unless the exam is still published)."""
    return services.exam_announce(exam_id=exam_id)
