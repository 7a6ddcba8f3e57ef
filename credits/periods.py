"""Periods (year, quarter, month) in the portal's time zone (Asia/Shanghai).

An entry belongs to the periods that contain its `occurred_at` *local* time, so an
entry at 2025-12-31 23:59:59 in Beijing counts in 2025 although it is 15:59 UTC.
Period keys are short strings that sort within a kind: ``2025``, ``2025-Q4``, ``2025-12``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from credits.models import PeriodKind

MIN_YEAR = 2000
MAX_YEAR = 2100

_PERIOD_RE = re.compile(r"^(?P<year>\d{4})(?:-(?:Q(?P<quarter>\d)|(?P<month>\d{2})))?$")


def portal_tz() -> ZoneInfo:
    """The portal's zone: periods never depend on the zone a request happens to activate."""
    return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True, order=True)
class Period:
    kind: str
    year: int
    index: int = 0  # quarter 1–4 or month 1–12; 0 for a year

    @property
    def key(self) -> str:
        if self.kind == PeriodKind.YEAR:
            return f"{self.year:04d}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.year:04d}-Q{self.index}"
        return f"{self.year:04d}-{self.index:02d}"

    def __str__(self) -> str:
        return self.key

    @property
    def first_day(self) -> date:
        if self.kind == PeriodKind.YEAR:
            return date(self.year, 1, 1)
        if self.kind == PeriodKind.QUARTER:
            return date(self.year, 3 * self.index - 2, 1)
        return date(self.year, self.index, 1)

    @property
    def next_first_day(self) -> date:
        if self.kind == PeriodKind.YEAR:
            return date(self.year + 1, 1, 1)
        months = 3 if self.kind == PeriodKind.QUARTER else 1
        month0 = self.first_day.month - 1 + months
        return date(self.year + month0 // 12, month0 % 12 + 1, 1)

    @property
    def start(self) -> datetime:
        """First instant of the period (aware, local midnight)."""
        return datetime.combine(self.first_day, time.min, tzinfo=portal_tz())

    @property
    def end(self) -> datetime:
        """First instant after the period (exclusive bound)."""
        return datetime.combine(self.next_first_day, time.min, tzinfo=portal_tz())

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    @property
    def year_period(self) -> Period:
        return Period(PeriodKind.YEAR, self.year)

    def fraction_elapsed(self, today: date | None = None) -> float:
        """Share of the *year* elapsed by the end of `today` (1 for past years, 0 for future).

        The pro-rata target of a requirement is ``requirement × fraction``: on 30 June a
        person is on track with half of the annual requirement.
        """
        today = today or local_today()
        first, nxt = date(self.year, 1, 1), date(self.year + 1, 1, 1)
        if today < first:
            return 0.0
        if today >= nxt:
            return 1.0
        return ((today - first).days + 1) / (nxt - first).days

    def label(self) -> str:
        if self.kind == PeriodKind.YEAR:
            return _("%(year)s") % {"year": self.year}
        if self.kind == PeriodKind.QUARTER:
            return _("%(year)s Q%(quarter)s") % {"year": self.year, "quarter": self.index}
        return _("%(year)s-%(month)02d") % {"year": self.year, "month": self.index}


def local_today() -> date:
    return timezone.localtime(timezone.now(), portal_tz()).date()


def periods_of(moment: datetime) -> tuple[Period, Period, Period]:
    """The year, quarter and month that contain `moment` in local time."""
    if timezone.is_naive(moment):
        raise ValueError("occurred_at must be timezone-aware")
    local = timezone.localtime(moment, portal_tz())
    return (
        Period(PeriodKind.YEAR, local.year),
        Period(PeriodKind.QUARTER, local.year, (local.month - 1) // 3 + 1),
        Period(PeriodKind.MONTH, local.year, local.month),
    )


def current_periods() -> tuple[Period, Period, Period]:
    return periods_of(timezone.now())


def year_periods(year: int) -> list[Period]:
    """The 17 periods of a year: the year, its quarters and its months."""
    return (
        [Period(PeriodKind.YEAR, year)]
        + [Period(PeriodKind.QUARTER, year, q) for q in range(1, 5)]
        + [Period(PeriodKind.MONTH, year, m) for m in range(1, 13)]
    )


def parse_period(text: str | None, *, default: Period | None = None) -> Period:
    """``2025`` / ``2025-Q3`` / ``2025-07`` → Period; ValueError with a readable message.

    Periods after the current one are refused: nobody has credits there yet.
    """
    text = (text or "").strip()
    if not text:
        if default is None:
            raise ValueError(_("Choose a period such as 2025, 2025-Q3 or 2025-07."))
        return default
    match = _PERIOD_RE.match(text)
    if not match:
        raise ValueError(
            _("“%(value)s” is not a period: use a year (2025), a quarter (2025-Q3) or a month (2025-07).")
            % {"value": text[:20]}
        )
    year = int(match["year"])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(_("The year must be between %(min)s and %(max)s.") % {"min": MIN_YEAR, "max": MAX_YEAR})
    if match["quarter"] is not None:
        quarter = int(match["quarter"])
        if not 1 <= quarter <= 4:
            raise ValueError(_("A quarter is Q1 to Q4."))
        period = Period(PeriodKind.QUARTER, year, quarter)
    elif match["month"] is not None:
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise ValueError(_("A month is 01 to 12."))
        period = Period(PeriodKind.MONTH, year, month)
    else:
        period = Period(PeriodKind.YEAR, year)
    if period.start > timezone.now():
        raise ValueError(_("The period %(period)s has not started yet.") % {"period": period.key})
    return period


def period_from_key(key: str) -> Period:
    """Inverse of `Period.key` for keys stored in the database (no date checks)."""
    match = _PERIOD_RE.match(key)
    if not match:
        raise ValueError(key)
    year = int(match["year"])
    if match["quarter"] is not None:
        return Period(PeriodKind.QUARTER, year, int(match["quarter"]))
    if match["month"] is not None:
        return Period(PeriodKind.MONTH, year, int(match["month"]))
    return Period(PeriodKind.YEAR, year)

