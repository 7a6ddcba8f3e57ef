"""Forms of the report pages. They parse input; `reports.services` decides what is allowed."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from org import selectors as org_selectors
from reports import selectors
from reports.models import ReportKind


class UnitChoiceField(forms.ModelChoiceField):
    def __init__(self, *args, names: dict[int, str] | None = None, **kwargs) -> None:
        self.names = names or {}
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj) -> str:
        return self.names.get(obj.pk, obj.name)


def _years() -> list[tuple[int, int]]:
    this_year = timezone.localdate().year
    return [(y, y) for y in range(this_year, this_year - 6, -1)]


class ReportForm(forms.Form):
    """Base: the unit picker lists the units the user may report on, with full names."""

    kind: str = ""
    title = ""
    fields_for_service: tuple[str, ...] = ()

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if "unit" in self.fields:
            units = selectors.units_for_reports(user)
            self.fields["unit"].queryset = units
            self.fields["unit"].names = org_selectors.unit_full_names(units)
        if "year" in self.fields:
            self.fields["year"].choices = _years()
            self.fields["year"].initial = timezone.localdate().year

    def service_input(self) -> dict:
        data = self.cleaned_data
        out = {}
        for name in self.fields_for_service:
            value = data.get(name)
            out[name] = value.pk if hasattr(value, "pk") else value
        return out


class QuarterlyForm(ReportForm):
    kind = ReportKind.QUARTERLY
    # Translators: 季度报表
    title = _("Quarterly report")
    fields_for_service = ("unit", "year", "quarter", "format")
    unit = UnitChoiceField(label=_("Unit"), queryset=None)
    year = forms.TypedChoiceField(label=_("Year"), coerce=int)
    quarter = forms.TypedChoiceField(
        label=_("Quarter"), coerce=int, choices=[(q, f"Q{q}") for q in range(1, 5)],
        initial=lambda: (timezone.localdate().month - 1) // 3 + 1,
    )
    format = forms.ChoiceField(label=_("Format"), choices=[("xlsx", "Excel (.xlsx)"), ("pdf", "PDF")])


class BriefingForm(ReportForm):
    kind = ReportKind.BRIEFING
    # Translators: 半年情况通报
    title = _("Semi-annual briefing")
    fields_for_service = ("unit", "year", "half", "format")
    unit = UnitChoiceField(label=_("Unit"), queryset=None)
    year = forms.TypedChoiceField(label=_("Year"), coerce=int)
    half = forms.TypedChoiceField(
        # Translators: 上半年 / 下半年
        label=_("Half year"), coerce=int, choices=[(1, _("first half (Jan–Jun)")), (2, _("second half (Jul–Dec)"))]
    )
    format = forms.ChoiceField(label=_("Format"), choices=[("xlsx", "Excel (.xlsx)"), ("pdf", "PDF")])


class AttendanceForm(ReportForm):
    kind = ReportKind.ATTENDANCE
    title = _("Attendance export")
    fields_for_service = ("unit", "date_from", "date_to", "format")
    unit = UnitChoiceField(label=_("Unit"), queryset=None)
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    format = forms.ChoiceField(label=_("Format"), choices=[("xlsx", "Excel (.xlsx)"), ("csv", "CSV")])


class RecordsBulkForm(ReportForm):
    kind = ReportKind.LEARNING_RECORDS
    # Translators: 学时证明 of everyone in a unit, as a zip
    title = _("Certificates of a unit (zip)")
    fields_for_service = ("unit", "year")
    unit = UnitChoiceField(label=_("Unit"), queryset=None)
    year = forms.TypedChoiceField(label=_("Year"), coerce=int)


class RecordForm(ReportForm):
    kind = ReportKind.LEARNING_RECORD
    fields_for_service = ("person", "year", "format")
    person = forms.IntegerField(widget=forms.HiddenInput, required=False)
    year = forms.TypedChoiceField(label=_("Year"), coerce=int)
    format = forms.ChoiceField(
        label=_("Format"),
        # Translators: 学时证明 — the printable certificate of study hours
        choices=[("pdf", _("certificate of study hours (PDF)")), ("xlsx", _("full record (.xlsx)"))],
    )


class SubscriptionForm(ReportForm):
    fields_for_service = ("unit", "format")
    unit = UnitChoiceField(label=_("Unit"), queryset=None)
    format = forms.ChoiceField(label=_("Format"), choices=[("xlsx", "Excel (.xlsx)"), ("pdf", "PDF")])


class DashboardForm(ReportForm):
    unit = UnitChoiceField(label=_("Unit"), queryset=None)
    year = forms.TypedChoiceField(label=_("Year"), coerce=int)
    quarter = forms.TypedChoiceField(label=_("Quarter"), coerce=int, choices=[(q, f"Q{q}") for q in range(1, 5)])


FORMS: dict[str, type[ReportForm]] = {
    ReportKind.QUARTERLY: QuarterlyForm,
    ReportKind.BRIEFING: BriefingForm,
    ReportKind.ATTENDANCE: AttendanceForm,
    ReportKind.LEARNING_RECORDS: RecordsBulkForm,
    ReportKind.LEARNING_RECORD: RecordForm,
}
