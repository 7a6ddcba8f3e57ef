"""FilterSets for the org API.

Every filter that names a unit only accepts units in the caller's view scope, so asking
for a unit outside it is refused the same way as asking for one that does not exist: the
answer never tells whether the unit is there.
"""

from __future__ import annotations

import django_filters as df
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field

from org import selectors
from org.models import CadreLevel, Feedback, Notification, OrgUnit, User


def units_for_request(request: HttpRequest | None) -> QuerySet[OrgUnit]:
    """The units a filter may name: the caller's view scope (none without a request)."""
    if request is None or not request.user.is_authenticated:
        return OrgUnit.objects.none()
    return selectors.units_in_scope(request.user)


def scoped_unit_filter(*, method: str, help_text: str) -> df.ModelChoiceFilter:
    """A filter naming a unit by id; only units in the caller's view scope are accepted."""
    unit_filter = df.ModelChoiceFilter(
        queryset=units_for_request, method=method, help_text=help_text
    )
    # The queryset depends on the request, so tell the schema the parameter is an id.
    return extend_schema_field({"type": "integer", "description": help_text})(unit_filter)


class OrgUnitFilter(df.FilterSet):
    code = df.CharFilter(field_name="code", help_text=_("Exact unit code."))
    name = df.CharFilter(
        field_name="name", lookup_expr="icontains", help_text=_("Part of the unit's name.")
    )
    parent = scoped_unit_filter(
        method="filter_parent",
        help_text=_("Id of a unit: only its direct children."),
    )
    within = scoped_unit_filter(
        method="filter_within",
        help_text=_("Id of a unit: that unit and its whole subtree."),
    )
    active = df.BooleanFilter(
        field_name="is_active", help_text=_("true: active units only; false: inactive only.")
    )

    class Meta:
        model = OrgUnit
        fields: list[str] = []

    def filter_parent(self, queryset: QuerySet, name: str, value: OrgUnit | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(path__startswith=value.path, depth=value.depth + 1)

    def filter_within(self, queryset: QuerySet, name: str, value: OrgUnit | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(path__startswith=value.path)


class PersonFilter(df.FilterSet):
    unit = scoped_unit_filter(
        method="filter_unit",
        help_text=_("Id of a unit: people in that unit and its whole subtree."),
    )
    cadre_level = df.ModelChoiceFilter(
        queryset=CadreLevel.objects.all(), help_text=_("Id of a cadre level.")
    )
    active = df.BooleanFilter(
        field_name="is_active", help_text=_("true: active people only; false: inactive only.")
    )

    class Meta:
        model = User
        fields: list[str] = []

    def filter_unit(self, queryset: QuerySet, name: str, value: OrgUnit | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(unit__path__startswith=value.path)


class NotificationFilter(df.FilterSet):
    unread = df.BooleanFilter(
        method="filter_unread",
        help_text=_("true: only notices not read yet; false: only notices already read."),
    )

    class Meta:
        model = Notification
        fields: list[str] = []

    def filter_unread(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(read_at__isnull=value)


class FeedbackFilter(df.FilterSet):
    status = df.ChoiceFilter(
        choices=Feedback.Status.choices, help_text=_("open: not answered yet; answered.")
    )
    kind = df.ChoiceFilter(
        choices=Feedback.Kind.choices, help_text=_("suggestion, complaint or question.")
    )
    unit = scoped_unit_filter(
        method="filter_unit",
        help_text=_("Id of a unit: feedback sent from that unit and its whole subtree."),
    )

    class Meta:
        model = Feedback
        fields: list[str] = []

    def filter_unit(self, queryset: QuerySet, name: str, value: OrgUnit | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(unit__path__startswith=value.path)
