"""The roster import page: upload → dry-run preview → confirm, and the template download.

The uploaded file is kept server-side under MEDIA_ROOT/roster_uploads/<random token>
between the preview and the confirm. The token lives only in the user's session; the
confirm form echoes it and must match, so a client can never name a path, and another
user's session cannot apply someone else's upload. The file is deleted after use.
The confirm applies the file only if it still plans exactly the previewed changes; if
the roster changed meanwhile, the new preview is shown instead and must be confirmed.
"""

from __future__ import annotations

import io
import re
import secrets
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.crypto import constant_time_compare
from django.utils.formats import number_format
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from org import roster, selectors, services
from org.models import CadreLevel, User

SESSION_KEY = "roster_upload"
UPLOAD_DIR = "roster_uploads"
STALE_UPLOAD_SECONDS = 24 * 60 * 60
PREVIEW_LIMIT = 2000  # rows of changes shown on the page; the counts are always complete
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32,64}")


class RosterUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Roster file (.xlsx or .csv)"),
        help_text=gettext_lazy("Nothing is written yet: you will see what would change first."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.ROSTER_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s MB; the limit is %(limit)s MB. Split it into smaller files.")
                % {
                    "size": number_format(upload.size / 1048576, 1),
                    "limit": number_format(limit / 1048576, 1),
                }
            )
        return upload


def _require_importer(user: User) -> None:
    if not roster.can_import_roster(user):
        raise PermissionDenied


def _upload_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / UPLOAD_DIR


def _upload_path(token: str) -> Path | None:
    """Where the upload with this token lives; None for anything that is not a token."""
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        return None
    return _upload_dir() / token


def _sweep_stale_uploads() -> None:
    """Delete uploads abandoned between preview and confirm (best effort)."""
    cutoff = time.time() - STALE_UPLOAD_SECONDS
    try:
        for path in _upload_dir().iterdir():
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
    except OSError:
        pass


def _store_upload(upload) -> str:
    directory = _upload_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _sweep_stale_uploads()
    token = secrets.token_urlsafe(32)
    with (directory / token).open("xb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return token


def _discard_pending(request: HttpRequest) -> None:
    pending = request.session.pop(SESSION_KEY, None)
    if pending:
        path = _upload_path(pending.get("token"))
        if path is not None:
            path.unlink(missing_ok=True)


def _run(request: HttpRequest, token: str, filename: str, *, dry_run: bool, digest=None):
    path = _upload_path(token)
    with path.open("rb") as handle:
        return services.roster_import(
            actor=request.user,
            file=handle,
            filename=filename,
            dry_run=dry_run,
            expected_digest=digest,
        )


def _render(request: HttpRequest, form: RosterUploadForm, result=None, *, token: str = ""):
    context = {
        "form": form,
        "result": result,
        "token": token,
        "preview_limit": PREVIEW_LIMIT,
        "max_rows": settings.ROSTER_MAX_ROWS,
        "max_megabytes": settings.ROSTER_MAX_UPLOAD_BYTES // 1048576,
    }
    if result is not None:
        changed = result.changed_rows
        context["shown_changes"] = changed[:PREVIEW_LIMIT]
        context["hidden_changes"] = max(0, len(changed) - PREVIEW_LIMIT)
        context["shown_errors"] = result.errors
    return render(request, "org/roster_import.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def roster_import(request: HttpRequest) -> HttpResponse:
    _require_importer(request.user)
    if request.method == "GET":
        return _render(request, RosterUploadForm())
    action = request.POST.get("action", "preview")
    if action == "confirm":
        return _confirm(request)
    if action == "cancel":
        _discard_pending(request)
        messages.info(request, _("The upload was discarded; nothing was imported."))
        return redirect("org:roster_import")

    form = RosterUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, form)
    _discard_pending(request)
    upload = form.cleaned_data["file"]
    filename = Path(upload.name).name[:100]
    token = _store_upload(upload)
    keep = False
    try:
        result = _run(request, token, filename, dry_run=True)
        keep = result.ok and bool(result.changed_rows)
    finally:
        if not keep:
            _upload_path(token).unlink(missing_ok=True)
    if keep:
        request.session[SESSION_KEY] = {
            "token": token,
            "filename": filename,
            "digest": result.digest,
        }
    return _render(request, RosterUploadForm(), result, token=token if keep else "")


def _confirm(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(SESSION_KEY) or {}
    token = pending.get("token", "")
    path = _upload_path(token)
    if (
        path is None
        or not constant_time_compare(token, request.POST.get("token", ""))
        or not path.is_file()
    ):
        messages.error(
            request, _("This preview has expired or was already used. Upload the file again.")
        )
        return redirect("org:roster_import")
    result = None
    try:
        result = _run(
            request,
            token,
            pending.get("filename", ""),
            dry_run=False,
            digest=pending.get("digest", ""),
        )
    finally:
        reconfirm = result is not None and result.stale and bool(result.changed_rows)
        if not reconfirm:
            _discard_pending(request)
    if reconfirm:
        # The roster changed since the preview: show what the file would do now.
        request.session[SESSION_KEY] = {**pending, "digest": result.digest}
        messages.warning(
            request,
            _(
                "The roster changed after your preview, so nothing was applied. Check the "
                "changes below again and confirm."
            ),
        )
        return _render(request, RosterUploadForm(), result, token=token)
    if not result.ok:
        return _render(request, RosterUploadForm(), result)
    summary = _("Roster imported: %(created)s created, %(updated)s updated, %(unchanged)s unchanged.") % {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
    }
    messages.success(request, summary)
    if result.created:
        messages.warning(
            request,
            ngettext(
                "The %(count)s new person cannot log in yet: their password is unusable until "
                "an administrator resets it.",
                "The %(count)s new people cannot log in yet: their passwords are unusable until "
                "an administrator resets them.",
                result.created,
            )
            % {"count": result.created},
        )
    return redirect("org:roster_import")


# --- The template -------------------------------------------------------------------------


@login_required
@require_GET
def roster_template(request: HttpRequest) -> FileResponse:
    """An .xlsx to fill in: the roster sheet, instructions, the user's units and levels."""
    _require_importer(request.user)
    import xlsxwriter

    language = "zh" if (get_language() or "").startswith("zh") else "en"
    headers = roster.TEMPLATE_HEADERS[language]
    units = selectors.units_in_scope(request.user, access="manage").filter(is_active=True)
    full_names = selectors.unit_full_names(units)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = book.add_format({"num_format": "@"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})

    # Translators: worksheet name in the roster template (花名册); at most 31 characters.
    sheet = book.add_worksheet(_("Roster")[:31])
    formats = {"employee_no": text, "unit": text, "phone": text, "birth_date": day}
    widths = {"unit": 36, "email": 26, "employee_no": 14, "birth_date": 14, "phone": 16}
    for column, (name, header) in enumerate(zip(roster.FIELDS, headers, strict=True)):
        sheet.set_column(column, column, widths.get(name, 12), formats.get(name, text))
        sheet.write_string(0, column, header, bold)
    last_row = settings.ROSTER_MAX_ROWS
    gender = roster.FIELDS.index("gender")
    active = roster.FIELDS.index("active")
    sheet.data_validation(1, gender, last_row, gender, {"validate": "list", "source": ["男", "女"]})
    sheet.data_validation(1, active, last_row, active, {"validate": "list", "source": ["是", "否"]})
    sheet.freeze_panes(1, 0)

    help_sheet = book.add_worksheet(_("Instructions")[:31])
    help_sheet.set_column(0, 0, 100, wrap)
    for row, line in enumerate(_template_instructions()):
        help_sheet.write_string(row, 0, line)

    units_sheet = book.add_worksheet(_("Units")[:31])
    units_sheet.set_column(0, 0, 16)
    units_sheet.set_column(1, 1, 60)
    units_sheet.write_row(0, 0, [_("Unit code"), _("Full path")], bold)
    for row, unit in enumerate(units.only("pk", "code"), start=1):
        units_sheet.write_string(row, 0, unit.code)
        units_sheet.write_string(row, 1, full_names.get(unit.pk, ""))

    levels_sheet = book.add_worksheet(_("Cadre levels")[:31])
    levels_sheet.set_column(0, 1, 20)
    levels_sheet.write_row(0, 0, [_("Code"), _("Name")], bold)
    for row, (code, name) in enumerate(CadreLevel.objects.values_list("code", "name"), start=1):
        levels_sheet.write_string(row, 0, code)
        levels_sheet.write_string(row, 1, name)

    book.close()
    buffer.seek(0)
    return FileResponse(
        buffer,
        as_attachment=True,
        # Translators: file name of the downloadable template, e.g. 花名册模板.xlsx
        filename=_("roster-template.xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _template_instructions() -> list[str]:
    return [
        _("How to fill in the roster"),
        _("One person per row on the first sheet. Keep the header row; do not merge cells."),
        _("Required: employee number, name, unit. The other columns may be left empty."),
        _(
            "Unit: a unit code or the full path from the top, such as 渝北市/江北区/观音桥街道 "
            "(see the Units sheet: these are the units you may import into)."
        ),
        _("Cadre level: a name or code from the Cadre levels sheet."),
        _("Gender: 男 or 女 (M / F). Active: 是 or 否 (1 / 0, true / false)."),
        _(
            "Birth date: an Excel date, or text with the year first: 1985-03-21, 1985/3/21, "
            "1985.3.21 or 1985年3月21日. Plain numbers (Excel date serials) are refused."
        ),
        _(
            "Employee numbers and phone numbers must be stored as text: long numbers stored as "
            "Excel numbers lose their last digits."
        ),
        _("Cells may not start with = + - or @ (formulas are not accepted)."),
        _(
            "An empty cell leaves the current value unchanged. People who are not in the file "
            "are not changed: mark leavers 否 in the Active column."
        ),
        _(
            "New people get an unusable password: an administrator resets it before they can "
            "log in."
        ),
    ]
