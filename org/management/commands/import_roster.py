"""`manage.py import_roster FILE [--dry-run] [--as EMPLOYEE_NO]`.

Without `--as` the import acts for the system (the whole organisation); with it, it has
exactly the rights of that person, as on the page. Errors are printed one a line as
`sheet!row:column message` and the command exits non-zero; nothing is written then.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from org.models import User
from org.services import roster_import


class Command(BaseCommand):
    help = "Import a staff roster (.xlsx or .csv): create and update people by employee number."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path to the .xlsx or .csv roster.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would change; write nothing."
        )
        parser.add_argument(
            "--as",
            dest="as_employee_no",
            metavar="EMPLOYEE_NO",
            help="Import with this person's rights (default: the whole organisation).",
        )

    def handle(self, *args, file: str, dry_run: bool, as_employee_no: str | None, **options):
        actor = None
        if as_employee_no:
            actor = User.objects.filter(employee_no=as_employee_no, is_active=True).first()
            if actor is None:
                raise CommandError(
                    _("No active person has the employee number “%(no)s”.") % {"no": as_employee_no}
                )
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("File not found: %(path)s") % {"path": file})
        try:
            with path.open("rb") as handle:
                result = roster_import(
                    actor=actor, file=handle, filename=path.name, dry_run=dry_run
                )
        except PermissionDenied as exc:
            raise CommandError(str(exc) or _("Permission denied.")) from exc

        if not result.ok:
            for error in result.errors:
                self.stderr.write(str(error))
            count = len(result.errors)
            raise CommandError(
                ngettext(
                    "%(count)s problem found; nothing was imported.",
                    "%(count)s problems found; nothing was imported.",
                    count,
                )
                % {"count": count}
            )

        if dry_run:
            for change in result.changed_rows:
                self.stdout.write(self._describe(change))
        summary = _("%(created)s created, %(updated)s updated, %(unchanged)s unchanged.") % {
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        }
        if dry_run:
            self.stdout.write(_("Dry run: %(summary)s Nothing was written.") % {"summary": summary})
            return
        self.stdout.write(self.style.SUCCESS(_("Imported: %(summary)s") % {"summary": summary}))
        if result.created:
            self.stdout.write(
                _(
                    "New people have an unusable password: an administrator must reset it "
                    "before they can log in."
                )
            )

    @staticmethod
    def _describe(change) -> str:
        if change.action == "create":
            return _("+ row %(row)s %(no)s %(name)s: new person") % {
                "row": change.row,
                "no": change.employee_no,
                "name": change.name,
            }
        fields = "; ".join(f"{c.label}: {c.old or '—'} → {c.new or '—'}" for c in change.changes)
        return _("~ row %(row)s %(no)s %(name)s: %(fields)s") % {
            "row": change.row,
            "no": change.employee_no,
            "name": change.name,
            "fields": fields,
        }
