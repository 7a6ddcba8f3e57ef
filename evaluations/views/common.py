"""Small helpers shared by the evaluations pages."""

from __future__ import annotations

import io

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from learning_portal.spreadsheets import XlsxWriter, write_csv
from org import selectors as org_selectors


def first_message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(m for msgs in error.message_dict.values() for m in msgs)
    return " ".join(error.messages)


def require_admin(request: HttpRequest) -> None:
    """Unit admins (and system admins) only."""
    scope = org_selectors.scope_for(request.user)
    if scope.manage is not None and not scope.manage:
        raise PermissionDenied


def year_param(request: HttpRequest) -> int:
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        return timezone.localdate().year
    return year if 2000 <= year <= 2100 else timezone.localdate().year


def sheet_response(fmt: str, name: str, header: list[str], rows) -> HttpResponse:
    """An .xlsx (default) or CSV download of rows from a selector."""
    if fmt == "csv":
        buffer = io.StringIO()
        write_csv(buffer, header, rows)
        response = HttpResponse(buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    buffer = io.BytesIO()
    writer = XlsxWriter(buffer)
    writer.sheet(name[:31], header, rows)
    writer.close()
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response
