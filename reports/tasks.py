"""Celery tasks of the reports app (routed to the "reports" queue).

`build_report` acknowledges its message only when done (acks late) and is rejected back
to the queue if the worker process dies, so a killed worker's run is built again by the
next worker; the service makes every repeat harmless (claim token, temporary file,
atomic rename; a finished run is left alone).
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from reports import services


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_kwargs={"max_retries": 5},
)
def build_report(self, run_id: int) -> str:
    run = services.report_build(run_id=run_id)
    return run.status if run is not None else "skipped"


@shared_task
def purge_expired() -> int:
    """Delete downloaded-centre files past their expiry (beat, daily)."""
    return services.reports_purge_expired()


@shared_task
def requeue_stalled() -> int:
    """Queue again builds that stopped reporting progress (beat)."""
    return services.runs_requeue_stalled()


@shared_task
def deliver_subscriptions() -> int:
    """Request the quarterly reports of the subscriptions after a quarter ended (beat)."""
    return services.subscriptions_deliver()
