"""Forms of the course pages. They parse input only; the rules live in courses.services."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from courses.models import Category, Course, CourseAudience, Lesson
from org.models import CadreLevel, OrgUnit

LENGTH_CHOICES = [
    ("", _("Any length")),
    ("0-15", _("Under 15 minutes")),
    ("15-30", _("15–30 minutes")),
    ("30-60", _("30–60 minutes")),
    ("60-", _("Over an hour")),
]
ORDER_CHOICES = [
    ("new", _("Newest")),
    ("popular", _("Most opened")),
    ("rating", _("Best rated")),
    ("likes", _("Most liked")),
    ("learners", _("Most learners")),
    ("short", _("Shortest")),
]


class CatalogFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.TypedChoiceField(label=_("Category"), required=False, coerce=int, empty_value=None)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=30)
    source = forms.ChoiceField(label=_("Source"), required=False, choices=[("", _("Any source")), *Course.Source.choices])
    speaker = forms.CharField(label=_("Speaker"), required=False, max_length=100)
    # Translators: 必修 / 选修
    required = forms.ChoiceField(
        label=_("Required / elective"),
        required=False,
        choices=[("", _("Required and elective")), ("required", _("Required for me")), ("elective", _("Elective"))],
    )
    length = forms.ChoiceField(label=_("Length"), required=False, choices=LENGTH_CHOICES)
    min_rating = forms.TypedChoiceField(
        label=_("Rating"),
        required=False,
        coerce=Decimal,
        empty_value=None,
        choices=[("", _("Any rating")), ("4.5", "4.5+ ★"), ("4", "4+ ★"), ("3", "3+ ★")],
    )
    ordering = forms.ChoiceField(label=_("Sort by"), required=False, choices=ORDER_CHOICES)

    def __init__(self, *args, categories: list[dict] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("All categories"))] + [
            (c["id"], c["name"]) for c in (categories or [])
        ]
        for name, f in self.fields.items():
            css = "form-select" if isinstance(f.widget, forms.Select) else "form-control"
            f.widget.attrs.setdefault("class", css)
            f.widget.attrs.setdefault("aria-label", str(f.label))
            if name == "q":
                f.widget.attrs["placeholder"] = _("Title, speaker, provider, tag…")

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        low = high = None
        if data.get("length"):
            lo, _sep, hi = data["length"].partition("-")
            low = int(lo) if lo else None
            high = int(hi) if hi else None
        return {
            "q": data.get("q") or "",
            "category": data.get("category"),
            "tag": data.get("tag") or "",
            "source": data.get("source") or "",
            "speaker": data.get("speaker") or "",
            "required": data.get("required") or "",
            "min_minutes": low,
            "max_minutes": high,
            "min_rating": data.get("min_rating"),
            "ordering": data.get("ordering") or "new",
        }


class RatingForm(forms.Form):
    stars = forms.TypedChoiceField(
        label=_("Your rating"),
        coerce=int,
        choices=[(i, "★" * i) for i in range(5, 0, -1)],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose from 1 to 5 stars."), "invalid_choice": _("Choose from 1 to 5 stars.")},
    )
    comment = forms.CharField(
        label=_("Comment (optional)"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class RecommendForm(forms.Form):
    recipients = forms.TypedMultipleChoiceField(label=_("Colleagues"), coerce=int, choices=[])
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Chosen by search (htmx); any id is accepted here and checked by the service.
        self.fields["recipients"].valid_value = lambda value: True
        self.fields["recipients"].error_messages["required"] = _("Choose at least one colleague.")


class CourseForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    code = forms.CharField(label=_("Code"), required=False, max_length=40)
    summary = forms.CharField(label=_("Summary"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    description_html = forms.CharField(
        label=_("Description (HTML)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Paragraphs, lists, bold, links and tables; scripts and event handlers are refused."),
    )
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.filter(is_active=True), required=False)
    tags = forms.CharField(label=_("Tags"), required=False, max_length=400, help_text=_("Separate with commas or spaces."))
    source = forms.ChoiceField(label=_("Source"), choices=Course.Source.choices)
    provider = forms.CharField(label=_("Provider"), required=False, max_length=100)
    speaker = forms.CharField(label=_("Speaker"), required=False, max_length=100)
    length_minutes = forms.IntegerField(label=_("Length (minutes)"), min_value=1, max_value=6000)
    points = forms.DecimalField(
        label=_("Credit points"),
        required=False,
        min_value=0,
        max_digits=6,
        decimal_places=2,
        help_text=_("Leave empty to use the credit rules for the course length."),
    )
    owner_unit = forms.ModelChoiceField(
        label=_("Owner unit"), queryset=OrgUnit.objects.none(), required=False,
        help_text=_("People in this unit's subtree see the course. Empty (system admins): everyone."),
    )
    quiz_exam_id = forms.IntegerField(
        label=_("Quiz exam id"), required=False, min_value=1,
        help_text=_("Optional: an exam learners must pass to complete the course."),
    )

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        if units is not None:
            self.fields["owner_unit"].queryset = units

    def tag_list(self) -> list[str]:
        raw = self.cleaned_data.get("tags") or ""
        return [t for t in raw.replace("，", ",").replace("、", ",").replace(" ", ",").split(",") if t.strip()]


class LessonForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=Lesson.Kind.choices)
    duration_minutes = forms.DecimalField(
        label=_("Duration (minutes)"), min_value=Decimal("0.1"), max_value=1440, decimal_places=1,
        help_text=_("Video length, or the reading time a document needs."),
    )
    file = forms.FileField(label=_("File (MP4/WebM video, PDF or PPTX)"), required=False)
    external_url = forms.URLField(label=_("External video URL"), required=False, max_length=500, assume_scheme="https")

    def duration_seconds(self) -> int:
        return max(1, int(self.cleaned_data["duration_minutes"] * 60))


class StatusForm(forms.Form):
    action = forms.ChoiceField(choices=[("online", _("Put online")), ("offline", _("Take offline"))])
    at = forms.DateTimeField(
        label=_("At (optional)"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    courses = forms.TypedMultipleChoiceField(coerce=int, choices=[], error_messages={"required": _("Choose at least one course.")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["courses"].valid_value = lambda value: True


class AudienceForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=CourseAudience.Kind.choices)
    unit = forms.ModelChoiceField(label=_("Unit (with its subtree)"), queryset=OrgUnit.objects.none(), required=False)
    cadre_level = forms.ModelChoiceField(label=_("Cadre level"), queryset=CadreLevel.objects.all(), required=False)
    deadline = forms.DateField(label=_("Deadline"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        if units is not None:
            self.fields["unit"].queryset = units


class PushForm(forms.Form):
    message = forms.CharField(label=_("Message"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    units = forms.ModelMultipleChoiceField(
        label=_("Units"), queryset=OrgUnit.objects.none(), required=False,
        help_text=_("None chosen: everyone you manage."),
    )
    cadre_levels = forms.ModelMultipleChoiceField(
        label=_("Cadre levels"), queryset=CadreLevel.objects.all(), required=False, help_text=_("None chosen: every level.")
    )
    show_until = forms.DateField(label=_("Show on the home page until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        if units is not None:
            self.fields["units"].queryset = units


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    order = forms.ChoiceField(
        label=_("Rank by"),
        required=False,
        choices=[("clicks", _("Clicks")), ("completions", _("Completions")), ("rating", _("Rating")),
                 ("age", _("Age (oldest first)")), ("likes", _("Likes"))],
    )

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("start", _("The start date is after the end date."))
        return data
