"""`manage.py seed_demo --staff N`: build or grow the invented demo organisation.

Idempotent; see `org.demo` for what it builds and how it marks what it created.
"""

from __future__ import annotations

import time
import unicodedata

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from org import demo


def _width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters are two wide."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(_width(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True))

    return [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


class Command(BaseCommand):
    help = (
        "Build (or grow) the demo organisation 渝江市 with N staff, idempotently, then run "
        "the app seeders in settings.DEMO_SEEDERS. Prints the demo logins."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--staff", type=int, default=300, help="Number of demo staff (default 300)."
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=demo.DEFAULT_SEED,
            help=f"Random seed; use the same one when growing (default {demo.DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--skip-apps",
            action="store_true",
            help="Build the organisation only; do not run settings.DEMO_SEEDERS.",
        )

    def handle(self, *args, staff: int, seed: int, skip_apps: bool, verbosity: int, **options):
        if staff < 0:
            raise CommandError(_("--staff must be 0 or more, not %(staff)s.") % {"staff": staff})
        started = time.monotonic()

        def progress(message: str) -> None:
            if verbosity >= 2:
                self.stdout.write(f"  {message} ({time.monotonic() - started:.1f}s)")

        summary = demo.demo_organisation_build(staff=staff, seed=seed, progress=progress)
        if not skip_apps:
            demo.app_seeders_run(
                staff_count=staff, seed=seed, stdout=self.stdout, progress=progress
            )
        if verbosity < 1:
            return
        self.stdout.write(
            _(
                "Demo organisation %(city)s: %(units)s units (%(units_new)s new), "
                "%(staff)s staff (%(staff_new)s new), in %(seconds).1fs."
            )
            % {
                "city": demo.CITY_NAME,
                "units": summary.units,
                "units_new": summary.units_created,
                "staff": summary.staff,
                "staff_new": summary.staff_created,
                "seconds": time.monotonic() - started,
            }
        )
        if summary.units_differing:
            self.stdout.write(
                self.style.WARNING(
                    _(
                        "%(count)s demo units differ from what --seed %(seed)s builds (renamed, "
                        "or built with another seed); they were left as they are."
                    )
                    % {"count": summary.units_differing, "seed": seed}
                )
            )
        # Translators: column headings of the demo login table printed by seed_demo.
        header = [
            pgettext("demo logins", "Role"),
            pgettext("demo logins", "Login"),
            pgettext("demo logins", "Password"),
            pgettext("demo logins", "Name"),
            pgettext("demo logins", "Unit"),
            pgettext("demo logins", "Grant on"),
        ]
        rows = [
            [row.role, row.employee_no, row.password, row.name, row.unit, row.scope]
            for row in demo.demo_logins()
        ]
        self.stdout.write("")
        for text in _table(header, rows):
            self.stdout.write(text)
        self.stdout.write("")
        self.stdout.write(
            _("Every demo staff member (%(first)s …) also logs in with the password %(pw)s.")
            % {"first": demo.staff_employee_no(0), "pw": demo.DEMO_PASSWORD}
        )
