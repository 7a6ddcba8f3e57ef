"""Forms of the credits pages: they check shapes only; the services judge the content."""

from __future__ import annotations

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from credits.models import RankingVisibility, RequiredOrElective, SourceKind
from org.models import CadreLevel


class PointsInput(forms.CharField):
    """Points stay text until `credits.services.clean_points` judges them (NaN, precision…)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)


class AdjustmentForm(forms.Form):
    employee_no = forms.CharField(
        label=_("Employee number"), max_length=32,
        help_text=_("The person must work in a unit you administer."),
    )
    points = PointsInput(label=_("Points"), help_text=_("Use a minus sign to take points away, e.g. -1.5."))
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Mandatory; the person sees it in their ledger."),
    )
    # A token per form display: submitting the same form twice records one adjustment.
    token = forms.CharField(widget=forms.HiddenInput, max_length=64, initial=lambda: uuid.uuid4().hex)


class ReverseForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class PolicyForm(forms.Form):
    unit_label = forms.CharField(
        label=_("Unit label"), max_length=10,
        # Translators: 学分 means credits, 学时 means class hours.
        help_text=_("What a point is called on every page, e.g. 学分 or 学时."),
    )
    course_long_minutes = forms.IntegerField(label=_("Long course from (minutes)"), min_value=0)
    course_long_points = PointsInput(label=_("Points for a long course"))
    course_medium_minutes = forms.IntegerField(label=_("Medium course from (minutes)"), min_value=0)
    course_medium_points = PointsInput(label=_("Points for a medium course"))
    course_short_points = PointsInput(label=_("Points for a short course"))
    attendance_points_per_hour = PointsInput(label=_("Points per attended class hour"))
    lecture_multiplier = PointsInput(
        label=_("Lecture multiplier"), help_text=_("A lecturer earns this many times the class's hours.")
    )
    exam_points = PointsInput(label=_("Points per passed exam"))
    award_points = PointsInput(label=_("Default points per award"))


class SourceRuleForm(forms.Form):
    source_kind = forms.ChoiceField(label=_("Source"), choices=SourceKind.choices)
    year = forms.IntegerField(label=_("From year"))
    counts_as = forms.ChoiceField(label=_("Counts as"), choices=RequiredOrElective.choices)
    cap_percent = PointsInput(
        # xgettext:no-python-format
        label=_("Annual cap (% of requirement)"), required=False,
        # xgettext:no-python-format
        help_text=_("E.g. 60: online courses count for at most 60 % of the requirement."),
    )
    cap_points = PointsInput(label=_("Annual cap (points)"), required=False)


class AwardRuleForm(forms.Form):
    award_code = forms.CharField(label=_("Award code"), max_length=50)
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    points = PointsInput(label=_("Points"))


class RequirementForm(forms.Form):
    cadre_level = forms.ModelChoiceField(
        label=_("Cadre level"), queryset=CadreLevel.objects.all(), required=False,
        empty_label=_("Everyone else"),
    )
    year = forms.IntegerField(label=_("From year"))
    points = PointsInput(label=_("Required points per year"))
    required_points = PointsInput(label=_("Of which from required sources"), required=False)


class RankingPolicyForm(forms.Form):
    root = forms.IntegerField(widget=forms.HiddenInput)
    visibility = forms.ChoiceField(label=_("Visibility"), choices=RankingVisibility.choices)
    top_n = forms.IntegerField(label=_("N"), min_value=1, max_value=500, initial=10)
    mask_names = forms.BooleanField(label=_("Mask names (张*)"), required=False)
