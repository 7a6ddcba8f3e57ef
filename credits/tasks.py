"""Background work of credits: rank refreshes and rebuilds of totals from the ledger.

Tasks take plain values, re-read everything from the database, call one service and
are safe to run twice (a refresh or a rebuild converges on the same state).
"""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task
from django.core.cache import cache

from credits import services
from credits.periods import current_periods


@shared_task(acks_late=True, queue="default")
def refresh_ranks(period_keys: list[str]) -> int:
    """Recompute ranks and unit statistics of the periods; see `services.schedule_rank_refresh`."""
    # Clear the debounce flag first: an award committed from now on queues the next run.
    cache.delete(services.rank_refresh_flag(period_keys))
    return services.ranks_refresh(period_keys=period_keys, full_sync=False)


@shared_task(acks_late=True)
def refresh_current_ranks() -> int:
    """Periodic: rerank the current year, quarter and month (pro-rata targets move daily,
    people move between units) and re-sync the live sets."""
    return services.ranks_refresh(period_keys=[p.key for p in current_periods()])


@shared_task(acks_late=True)
def rebuild_totals(year: int | None = None) -> dict:
    """Recompute a year's totals from the ledger and report the drift fixed.

    Without a year (the nightly run): the current year, and in January the previous one
    too, since late entries for December still arrive then.
    """
    if year is not None:
        years = [year]
    else:
        year_p, _quarter, month = current_periods()
        years = [year_p.year - 1, year_p.year] if month.index == 1 else [year_p.year]
    reports = {}
    for y in years:
        report = services.totals_rebuild(year=y)
        reports[y] = {**asdict(report), "drift": report.drift}
    return reports
