"""Forms of the system-admin pages (organisation tree, cadre levels, role grants).

They only parse and shape input; the rules (unique codes, no "/" in unit names, no move
into a unit's own subtree, no role for an inactive person …) live in `org.services`,
whose `ValidationError`s are put back on the matching field by `apply_service_errors`.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.urls import reverse_lazy
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from org import selectors
from org.models import OrgUnit, Role, User


def apply_service_errors(form: forms.Form, error: ValidationError, *, aliases: dict | None = None) -> None:
    """Show a service's `{field: [messages]}` on the form, on the field it names.

    `aliases` maps a service argument to the form field that carries it (e.g. the
    service's `user` is the form's `person`); anything unknown goes to the form top.
    """
    aliases = aliases or {}
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, messages in error.message_dict.items():
        field = aliases.get(field, field)
        form.add_error(field if field in form.fields else None, messages)


class ManyOptionsSelect(forms.Select):
    """A `<select>` rendered in Python rather than one template per option.

    Django's widget templates cost ~0.1 ms an option, a fifth of a second for the 2,000
    units of a large organisation; this renders the same HTML in a few milliseconds.
    No optgroups.
    """

    def render(self, name, value, attrs=None, renderer=None):
        selected = {str(v) for v in self.format_value(value)}
        final_attrs = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (option, mark_safe(" selected") if str(option) in selected else "", label)
                for option, label in self.choices
            ),
        )
        return format_html("<select{}>{}</select>", flatatt(final_attrs), options)


class UnitChoiceField(forms.ModelChoiceField):
    """A unit picker whose options read "市/区/街道", so units with one name are told apart.

    The full names come from one ordered scan of the tree (`unit_full_names`), made the
    first time an option is labelled, so a select of 2,000 units costs two queries.
    """

    widget = ManyOptionsSelect

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", OrgUnit.objects.all())
        super().__init__(**kwargs)
        self._full_names: dict[int, str] | None = None

    def label_from_instance(self, obj: OrgUnit) -> str:
        if self._full_names is None:
            self._full_names = selectors.unit_full_names()
        label = self._full_names.get(obj.pk, obj.name)
        if not obj.is_active:
            label = _("%(unit)s (inactive)") % {"unit": label}
        return f"{label} · {obj.code}"


# --- Units -----------------------------------------------------------------------------


class UnitCreateForm(forms.Form):
    code = forms.CharField(
        label=_("Unit code"),
        max_length=32,
        help_text=_("Stable identifier used by roster imports and the API, e.g. 110105001."),
    )
    name = forms.CharField(
        # Translators: the name of an organisation unit (单位名称), e.g. 朝阳区 or 办公室.
        label=_("Unit name"),
        max_length=100,
        help_text=_("Without “/”: it separates the levels of a full name such as 市/区/街道."),
    )
    kind = forms.CharField(
        label=_("Unit kind"),
        max_length=32,
        required=False,
        help_text=_("Free text such as city, district, department, township, section."),
    )
    sort_order = forms.IntegerField(
        label=_("Sort order"),
        min_value=0,
        max_value=2_147_483_647,
        initial=0,
        help_text=_("Siblings are listed by sort order, then by name."),
    )


class UnitUpdateForm(UnitCreateForm):
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("An inactive unit stays in the tree and in history but takes no new members."),
    )


class UnitMoveForm(forms.Form):
    parent = UnitChoiceField(
        label=_("New parent unit"),
        required=False,
        empty_label=_("— top level (a new root) —"),
        help_text=_("The unit moves with everything under it."),
    )


# --- Cadre levels ----------------------------------------------------------------------


class CadreLevelForm(forms.Form):
    code = forms.CharField(label=_("Cadre level code"), max_length=32)
    # Translators: a cadre level (干部职级) such as 处级, 科级 or 一般干部.
    name = forms.CharField(label=_("Cadre level name"), max_length=50)
    sort_order = forms.IntegerField(
        label=_("Sort order"), min_value=0, max_value=2_147_483_647, initial=0
    )


# --- Role grants -----------------------------------------------------------------------


class GrantCreateForm(forms.Form):
    person = forms.CharField(
        label=_("Person (employee number)"),
        max_length=32,
        help_text=_("Type an employee number, or search by name or number and pick from the list."),
        # htmx lists matching people under the box as the admin types (see grant_form.html).
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "hx-get": reverse_lazy("org:person_search"),
                "hx-trigger": "input changed delay:300ms, search",
                "hx-target": "#person-results",
                "hx-sync": "this:replace",
            }
        ),
    )
    unit = UnitChoiceField(
        label=_("Unit"), help_text=_("The role covers this unit and everything under it.")
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def clean_person(self) -> User:
        employee_no = self.cleaned_data["person"].strip()
        person = User.objects.filter(employee_no=employee_no).select_related("unit").first()
        if person is None:
            raise ValidationError(
                _("Nobody has the employee number “%(number)s”."),
                code="unknown",
                params={"number": employee_no},
            )
        return person


class GrantFilterForm(forms.Form):
    """Filters of the role-grant list; every field is optional."""

    success_css_class = ""  # a filter that applies is not "valid input" worth a green frame

    role = forms.ChoiceField(
        label=_("Role"), required=False, choices=[("", _("All roles")), *Role.choices]
    )
    unit = UnitChoiceField(
        label=_("Unit"),
        required=False,
        empty_label=_("All units"),
        help_text=_("Grants on this unit or anywhere under it."),
    )
    q = forms.CharField(label=_("Person"), required=False, max_length=50)
