"""`manage.py recompute_credits [--year 2025]`: rebuild totals and ranks from the ledger."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from credits import services


class Command(BaseCommand):
    help = (
        "Recompute every credit total and ranking of a year (default: every year in the "
        "ledger) from the ledger, and report the drift that was fixed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=int, help="Only this year (Beijing time).")

    def handle(self, *args, year: int | None, verbosity: int, **options) -> None:
        years = [year] if year else services.ledger_years()
        if not years:
            self.stdout.write(_("The ledger is empty: nothing to recompute."))
            return
        drift = 0
        for y in years:
            try:
                report = services.totals_rebuild(year=y)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            drift += report.drift
            line = _(
                "%(year)s: %(entries)s entries, drift fixed: %(drift)s "
                "(people: %(pf)s changed, %(pa)s added, %(pr)s removed; "
                "units: %(uf)s changed, %(ua)s added, %(ur)s cleared) in %(seconds)ss"
            ) % {
                "year": y,
                "entries": report.entries,
                "drift": report.drift,
                "pf": report.person_rows_fixed,
                "pa": report.person_rows_added,
                "pr": report.person_rows_removed,
                "uf": report.unit_rows_fixed,
                "ua": report.unit_rows_added,
                "ur": report.unit_rows_removed,
                "seconds": report.seconds,
            }
            style = self.style.WARNING if report.drift else self.style.SUCCESS
            self.stdout.write(style(line))
        if verbosity >= 1:
            self.stdout.write(_("Total drift fixed: %(n)s rows.") % {"n": drift})
