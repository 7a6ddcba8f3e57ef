"""Page forms. They parse input and offer only what the user may choose; the services
decide and validate."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evaluations.imports import LETTERS
from evaluations.models import (
    LIKERT_MAX,
    LIKERT_MIN,
    AwardType,
    Question,
    QuestionTag,
    SurveyQuestion,
)
from evaluations.selectors import LIKERT_LABELS
from org import selectors as org_selectors
from org.models import OrgUnit

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
SCALE = [(v, f"{v} · {LIKERT_LABELS[v]}") for v in range(LIKERT_MAX, LIKERT_MIN - 1, -1)]


def apply_errors(form: forms.Form, error: ValidationError, aliases: dict[str, str] | None = None) -> None:
    """Show a service's ValidationError on the form, on the field it names."""
    aliases = aliases or {}
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, messages in error.message_dict.items():
        target = aliases.get(name, name)
        form.add_error(target if target in form.fields else None, messages)


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{'　' * max(0, obj.depth - 1)}{obj.name}"


def managed_units(user) -> forms.models.QuerySet:
    return org_selectors.units_in_scope(user, access="manage")


class SurveyForm(forms.Form):
    """One radio row per question of the survey, and the optional comment."""

    def __init__(self, *args, questions: list[SurveyQuestion], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        for q in questions:
            self.fields[f"q{q.pk}"] = forms.TypedChoiceField(
                label=q.text, choices=SCALE, coerce=int, widget=forms.RadioSelect,
                error_messages={"required": _("Please answer this question.")},
            )
        self.fields["comment"] = forms.CharField(
            label=_("Comment (optional)"), required=False, max_length=1000,
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text=_("Suggestions for the lecturer. Do not write your name if you want to stay anonymous."),
        )

    def answers(self) -> dict[int, int]:
        return {q.pk: self.cleaned_data[f"q{q.pk}"] for q in self.questions}


class TemplateForm(forms.Form):
    """A unit's question set: up to eight questions and which one is the overall one."""

    ROWS = 8

    unit = UnitChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none())
    name = forms.CharField(label=_("Name of the question set"), max_length=100)
    overall = forms.TypedChoiceField(
        label=_("Overall-satisfaction question"), coerce=int,
        choices=[(i, _("Question %(n)s") % {"n": i + 1}) for i in range(ROWS)],
        help_text=_("The satisfaction rate (满意率) is the share answering 4 or 5 to this question."),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = managed_units(user)
        for i in range(self.ROWS):
            self.fields[f"q{i}"] = forms.CharField(
                label=_("Question %(n)s") % {"n": i + 1}, max_length=200, required=i == 0
            )

    def questions(self) -> list[dict]:
        overall = self.cleaned_data["overall"]
        rows = []
        for i in range(self.ROWS):
            text = self.cleaned_data.get(f"q{i}", "").strip()
            if text or i == overall:
                rows.append({"text": text, "is_overall": i == overall})
        return rows


class RatingForm(forms.Form):
    person = forms.IntegerField(widget=forms.HiddenInput)
    score = forms.TypedChoiceField(
        label=_("Participation"), coerce=int,
        choices=[(v, str(v)) for v in range(LIKERT_MAX, LIKERT_MIN - 1, -1)],
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class AnonymityForm(forms.Form):
    anonymous = forms.BooleanField(required=False)


class NominateForm(forms.Form):
    award_type = forms.ModelChoiceField(label=_("Award"), queryset=AwardType.objects.filter(is_active=True))
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    employee_no = forms.CharField(label=_("Employee number"), max_length=32)
    basis = forms.CharField(label=_("Reason"), max_length=300, required=False)


class DecisionForm(forms.Form):
    text = forms.CharField(label=_("Citation or reason"), max_length=500, required=False)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Excel file (.xlsx)"))
    dry_run = forms.BooleanField(label=_("Check only, do not import"), required=False, initial=True)


class QuestionImportForm(ImportForm):
    unit = UnitChoiceField(label=_("Into the bank of"), queryset=OrgUnit.objects.none())

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = managed_units(user)


class AppraisalImportForm(ImportForm):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)


class QuestionForm(forms.Form):
    unit = UnitChoiceField(label=_("Bank of unit"), queryset=OrgUnit.objects.none())
    kind = forms.ChoiceField(label=_("Type"), choices=Question.Kind.choices)
    text = forms.CharField(label=_("Question"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    explanation = forms.CharField(label=_("Explanation"), required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separated by commas, e.g. 宪法, 行政许可法."))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = managed_units(user)
        for letter in LETTERS:
            self.fields[f"option_{letter}"] = forms.CharField(
                label=_("Option %(l)s") % {"l": letter}, max_length=500, required=False,
                help_text=_("For true-or-false, leave the options empty.") if letter == "A" else "",
            )
            self.fields[f"correct_{letter}"] = forms.BooleanField(label=_("%(l)s is right") % {"l": letter}, required=False)
        self.fields["tf_answer"] = forms.ChoiceField(
            label=_("Answer (true or false)"), required=False,
            choices=[("", "—"), ("true", _("True")), ("false", _("False"))],
        )

    def payload(self) -> dict:
        from evaluations.imports import TAG_SPLIT, true_false_choices

        data = self.cleaned_data
        if data["kind"] == Question.Kind.TRUE_FALSE:
            right = data.get("tf_answer")
            choices = [
                {"text": label, "is_correct": (i == 0) == (right == "true") if right else False}
                for i, (label, _c) in enumerate(true_false_choices())
            ]
        else:
            choices = [
                {"text": data[f"option_{letter}"].strip(), "is_correct": data[f"correct_{letter}"]}
                for letter in LETTERS if data.get(f"option_{letter}", "").strip()
            ]
        return {
            "unit": data["unit"], "kind": data["kind"], "text": data["text"], "explanation": data["explanation"],
            "tags": [t.strip() for t in TAG_SPLIT.split(data["tags"] or "") if t.strip()],
            "choices": choices, "is_active": data["is_active"],
        }

    @classmethod
    def initial_for(cls, question: Question) -> dict:
        initial = {
            "unit": question.unit_id, "kind": question.kind, "text": question.text,
            "explanation": question.explanation, "is_active": question.is_active,
            "tags": ", ".join(t.name for t in question.tags.all()),
        }
        choices = list(question.choices.all())
        if question.kind == Question.Kind.TRUE_FALSE:
            initial["tf_answer"] = "true" if choices and choices[0].is_correct else "false"
        else:
            for letter, choice in zip(LETTERS, choices, strict=False):
                initial[f"option_{letter}"] = choice.text
                initial[f"correct_{letter}"] = choice.is_correct
        return initial


class ExamForm(forms.Form):
    unit = UnitChoiceField(label=_("For everyone in"), queryset=OrgUnit.objects.none())
    title = forms.CharField(label=_("Title"), max_length=200, help_text=_("e.g. 全员法制网上月考（3月）"))
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    tags = forms.ModelMultipleChoiceField(
        label=_("Draw from tags"), queryset=QuestionTag.objects.all(), required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("None selected: all active questions of the banks of the unit and the units above it."),
    )
    question_count = forms.IntegerField(label=_("Questions per attempt"), min_value=1, max_value=200, initial=20)
    time_limit_minutes = forms.IntegerField(label=_("Time limit (minutes)"), min_value=1, max_value=600, initial=30)
    opens_at = forms.DateTimeField(label=_("Opens"), widget=DATETIME)
    closes_at = forms.DateTimeField(label=_("Closes"), widget=DATETIME)
    attempts_allowed = forms.IntegerField(label=_("Attempts allowed"), min_value=1, max_value=20, initial=1)
    pass_percent = forms.IntegerField(label=_("Pass mark (%)"), min_value=0, max_value=100, initial=60)
    points_on_pass = forms.DecimalField(
        label=_("Credit points on pass"), required=False, min_value=0, max_digits=6, decimal_places=2,
        help_text=_("Empty: the credit rules decide. 0: no credits."),
    )
    counts_for_awards = forms.BooleanField(
        label=_("Monthly exam (feeds 优秀学员 and 岗位履职标兵)"), required=False,
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = managed_units(user)
        if not self.is_bound and "opens_at" not in self.initial:
            now = timezone.localtime().replace(second=0, microsecond=0)
            self.initial.setdefault("opens_at", now)
            self.initial.setdefault("closes_at", now + dt.timedelta(days=7))
