"""Page forms. They parse input and offer only what the user may choose; the services
decide and validate."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from org import selectors as org_selectors
from org.models import CadreLevel, User
from sessions import selectors
from sessions.models import Attendance, Declaration, Format, MenuTopic, Venue

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def apply_errors(form: forms.Form, error: ValidationError, aliases: dict[str, str] | None = None) -> None:
    """Show a service's ValidationError on the form, on the field it names."""
    aliases = aliases or {}
    for field, messages in error.message_dict.items():
        name = aliases.get(field, field)
        form.add_error(name if name in form.fields else None, messages)


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{'　' * max(0, obj.depth - 1)}{obj.name}"


class UnitMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{'　' * max(0, obj.depth - 1)}{obj.name}"


class SessionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    track = forms.ModelChoiceField(label=_("Track"), queryset=None)
    format = forms.ChoiceField(label=_("Format"), choices=Format.choices, initial=Format.LECTURE)
    host_unit = UnitChoiceField(label=_("Host unit"), queryset=None)
    speakers = forms.ModelMultipleChoiceField(
        label=_("Speakers"), queryset=None, widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Staff or invited experts from the speaker pool."),
    )
    date = forms.DateField(label=_("Date"), widget=DATE)
    start_time = forms.TimeField(label=_("Starts"), widget=TIME)
    end_time = forms.TimeField(label=_("Ends"), widget=TIME)
    venue = forms.ModelChoiceField(label=_("Venue"), queryset=None, required=False)
    location_note = forms.CharField(label=_("Location details"), max_length=200, required=False,
                                    help_text=_("e.g. room number, or where to meet on site."))
    online_url = forms.URLField(label=_("Online link"), required=False, assume_scheme="https")
    audience_open = forms.BooleanField(label=_("Open to everyone in the host unit"), required=False, initial=True)
    audience_units = UnitMultipleChoiceField(label=_("Audience units"), queryset=None, required=False,
                                             widget=forms.SelectMultiple(attrs={"size": 6}))
    audience_levels = forms.ModelMultipleChoiceField(label=_("Audience cadre levels"), queryset=None, required=False)
    capacity = forms.IntegerField(label=_("Capacity"), required=False,
                                  help_text=_("Empty: no limit and no registration."))
    attend_points = forms.DecimalField(label=_("Credits for attending"), required=False, max_digits=6,
                                       decimal_places=2, help_text=_("Empty: by the credit rules (学分)."))
    lecture_points = forms.DecimalField(label=_("Credits for lecturing"), required=False, max_digits=6,
                                        decimal_places=2, help_text=_("Empty: by the credit rules (学分)."))
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    ALIASES = {"start": "start_time", "end": "end_time"}

    def __init__(self, *args, user: User, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["track"].queryset = selectors.tracks_active()
        self.fields["host_unit"].queryset = org_selectors.units_in_scope(user, access="manage")
        self.fields["speakers"].queryset = selectors.speakers_visible_to(user).filter(is_active=True)
        self.fields["venue"].queryset = selectors.venues_visible_to(user).filter(is_active=True)
        self.fields["audience_units"].queryset = org_selectors.units_in_scope(user, access="manage")
        self.fields["audience_levels"].queryset = CadreLevel.objects.all()
        if editing:
            del self.fields["host_unit"]

    def clean(self):
        data = super().clean()
        day, start, end = data.get("date"), data.get("start_time"), data.get("end_time")
        if day and start and end:
            data["start"] = timezone.make_aware(dt.datetime.combine(day, start))
            data["end"] = timezone.make_aware(dt.datetime.combine(day, end))
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        keys = ["title", "track", "format", "speakers", "venue", "location_note", "online_url", "audience_open",
                "audience_units", "audience_levels", "capacity", "attend_points", "lecture_points", "description",
                "start", "end"]
        if "host_unit" in self.fields:
            keys.append("host_unit")
        return {k: data.get(k) for k in keys} | {
            "speakers": list(data.get("speakers") or []),
            "audience_units": list(data.get("audience_units") or []),
            "audience_levels": list(data.get("audience_levels") or []),
        }


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Check-in code"), max_length=6, min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "pattern": "[0-9]{6}"}),
    )


class MarkForm(forms.Form):
    employee_no = forms.CharField(label=_("Employee number"), max_length=32)
    status = forms.ChoiceField(label=_("Status"), choices=Attendance.Status.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)

    def clean_employee_no(self):
        number = self.cleaned_data["employee_no"].strip()
        person = User.objects.filter(employee_no=number).select_related("unit").first()
        if person is None:
            raise ValidationError(_("Nobody has the employee number “%(no)s”.") % {"no": number})
        self.cleaned_data["person"] = person
        return number


class MenuForm(forms.Form):
    unit = UnitChoiceField(label=_("Unit"), queryset=None)
    year = forms.IntegerField(label=_("Year"))
    title = forms.CharField(label=_("Title"), max_length=200)
    introduction = forms.CharField(label=_("Introduction"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = org_selectors.units_in_scope(user, access="manage")
        self.fields["year"].initial = timezone.localdate().year


class TopicForm(forms.Form):
    track = forms.ModelChoiceField(label=_("Track"), queryset=None)
    ability_area = forms.CharField(label=_("Ability area"), max_length=50, required=False)
    title = forms.CharField(label=_("Topic"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["track"].queryset = selectors.tracks_active()


class WishForm(forms.Form):
    text = forms.CharField(label=_("Anything else you would like to learn?"), max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}))


class DeclarationForm(forms.Form):
    title = forms.CharField(label=_("Topic title"), max_length=200)
    track = forms.ModelChoiceField(label=_("Track"), queryset=None)
    format = forms.ChoiceField(label=_("Format"), choices=Format.choices)
    outline = forms.CharField(label=_("Outline"), widget=forms.Textarea(attrs={"rows": 5}))
    audience_note = forms.CharField(label=_("Intended audience"), max_length=200, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=Declaration.Kind.choices)
    year = forms.IntegerField(label=_("Year"))
    menu_topic = forms.ModelChoiceField(label=_("Answers the menu topic"), queryset=None, required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["track"].queryset = selectors.tracks_active()
        self.fields["year"].initial = timezone.localdate().year
        menus = selectors.menus_visible_to(user).filter(status="published")
        self.fields["menu_topic"].queryset = MenuTopic.objects.filter(menu__in=menus).select_related("menu")


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("approve", _("Approve")), ("reject", _("Reject"))], widget=forms.RadioSelect
    )
    comment = forms.CharField(label=_("Comment to the declarer"), required=False,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("Required when rejecting."))
    title = forms.CharField(label=_("Title (you may edit it)"), max_length=200)
    track = forms.ModelChoiceField(label=_("Track"), queryset=None)
    format = forms.ChoiceField(label=_("Format"), choices=Format.choices)
    outline = forms.CharField(label=_("Outline (you may edit it)"), widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["track"].queryset = selectors.tracks_active()


class PlanForm(forms.Form):
    unit = UnitChoiceField(label=_("Unit"), queryset=None)
    year = forms.IntegerField(label=_("Year"))
    monthly_target = forms.IntegerField(label=_("Classes per month"), required=False, min_value=1, max_value=10)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = org_selectors.units_in_scope(user, access="manage")
        self.fields["year"].initial = timezone.localdate().year


MONTHS = [(m, m) for m in range(1, 13)]


class PlanItemForm(forms.Form):
    month = forms.TypedChoiceField(label=_("Month"), choices=MONTHS, coerce=int)
    declaration = forms.ModelChoiceField(label=_("Approved declaration"), queryset=None, required=False)
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    track = forms.ModelChoiceField(label=_("Track"), queryset=None, required=False)

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["declaration"].queryset = selectors.plannable_declarations(plan)
        self.fields["track"].queryset = selectors.tracks_active()


class PlanItemMoveForm(forms.Form):
    month = forms.TypedChoiceField(label=_("Month"), choices=MONTHS, coerce=int)


class ExportForm(forms.Form):
    unit = UnitChoiceField(label=_("Unit (with the units under it)"), queryset=None, required=False)
    date_from = forms.DateField(label=_("From"), widget=DATE)
    date_to = forms.DateField(label=_("To"), widget=DATE)
    fmt = forms.ChoiceField(label=_("Format"), choices=[("xlsx", "Excel (.xlsx)"), ("csv", "CSV")])

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = org_selectors.units_in_scope(user)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


class SpeakerForm(forms.Form):
    employee_no = forms.CharField(label=_("Employee number (staff)"), max_length=32, required=False,
                                  help_text=_("Leave empty for an external expert."))
    name = forms.CharField(label=_("Name"), max_length=50, required=False)
    organisation = forms.CharField(label=_("Organisation"), max_length=100, required=False)
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    expertise = forms.CharField(label=_("Expertise"), max_length=200, required=False)
    unit = UnitChoiceField(label=_("Looked after by"), queryset=None, required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = org_selectors.units_in_scope(user, access="manage")

    def clean_employee_no(self):
        number = self.cleaned_data["employee_no"].strip()
        self.cleaned_data["person"] = None
        if number:
            person = User.objects.filter(employee_no=number).select_related("unit").first()
            if person is None:
                raise ValidationError(_("Nobody has the employee number “%(no)s”.") % {"no": number})
            self.cleaned_data["person"] = person
        return number


class VenueForm(forms.Form):
    unit = UnitChoiceField(label=_("Unit"), queryset=None)
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=Venue.Kind.choices)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    capacity = forms.IntegerField(label=_("Seats"), required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = org_selectors.units_in_scope(user, access="manage")


class SettingsForm(forms.Form):
    slot_start = forms.TimeField(label=_("Default start time"), widget=TIME)
    slot_minutes = forms.IntegerField(label=_("Default length (minutes)"))
    monthly_target = forms.IntegerField(label=_("Classes per month"))
    checkin_opens_before = forms.IntegerField(label=_("Check-in opens (minutes before)"), min_value=0)
    checkin_closes_after = forms.IntegerField(label=_("Check-in closes (minutes after start)"), min_value=0)
    late_after = forms.IntegerField(label=_("Late after (minutes after start)"), min_value=0)
    declaration_max_age = forms.IntegerField(
        label=_("Declaration required under age"), required=False,
        help_text=_("e.g. 46: everyone under 46 declares one topic a year. Empty: no rule."),
    )
    declarations_per_year = forms.IntegerField(label=_("Declarations per year"), min_value=1, initial=1)


class CoursewareForm(forms.Form):
    file = forms.FileField(label=_("File (PDF, PPTX or video)"))
