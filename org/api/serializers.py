"""Serializers of the org API: outputs describe rows, inputs describe commands.

Output serializers only read attributes the view prepared (annotations, `lineage`), so a
list never runs a query per row. Input serializers refuse unknown fields
(`StrictInputSerializer`) and only check shapes; every rule lives in `org.services`.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from learning_portal.api import StrictInputSerializer
from org import selectors
from org.models import CadreLevel, Feedback, Role, User

# --- Shared pieces -------------------------------------------------------------------------


class OrgUnitRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True, help_text=_("Unit id."))
    code = serializers.CharField(read_only=True, help_text=_("Stable unit code used by imports."))
    name = serializers.CharField(read_only=True, help_text=_("Unit name."))


class OrgUnitPathSerializer(OrgUnitRefSerializer):
    full_name = serializers.CharField(
        source="lineage.full_name",
        read_only=True,
        help_text=_("Names from the root down to this unit, joined by “/”."),
    )


class CadreLevelRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True, help_text=_("Cadre level id."))
    code = serializers.CharField(read_only=True, help_text=_("Cadre level code."))
    name = serializers.CharField(
        read_only=True,
        # Translators: cadre levels are e.g. 处级 / 科级 / 一般干部.
        help_text=_("Cadre level name, e.g. division level or section level."),
    )


class FeedbackPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True, help_text=_("Person id."))
    employee_no = serializers.CharField(read_only=True, help_text=_("Employee number."))
    name = serializers.CharField(read_only=True, help_text=_("Name."))


# --- Me -----------------------------------------------------------------------------------


class RoleGrantOutputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(
        choices=Role.choices, read_only=True, help_text=_("The role granted.")
    )
    label = serializers.CharField(
        source="get_role_display", read_only=True, help_text=_("The role in the UI language.")
    )
    unit = OrgUnitRefSerializer(
        read_only=True, help_text=_("The unit the role is granted on; it covers its subtree.")
    )


class MeOutputSerializer(serializers.Serializer):
    """The caller, their unit, their roles and their unread notices."""

    id = serializers.IntegerField(source="person.id", read_only=True, help_text=_("Your id."))
    employee_no = serializers.CharField(
        source="person.employee_no", read_only=True, help_text=_("Your employee number.")
    )
    name = serializers.CharField(source="person.name", read_only=True, help_text=_("Your name."))
    unit = OrgUnitPathSerializer(
        source="person.unit", read_only=True, allow_null=True, help_text=_("Your unit.")
    )
    cadre_level = CadreLevelRefSerializer(
        source="person.cadre_level",
        read_only=True,
        allow_null=True,
        help_text=_("Your cadre level, if any."),
    )
    roles = RoleGrantOutputSerializer(
        many=True, read_only=True, help_text=_("Roles granted to you; empty for a learner.")
    )
    is_system_admin = serializers.BooleanField(
        source="person.is_system_admin",
        read_only=True,
        help_text=_("True for a system administrator, who sees everything."),
    )
    unread_notifications = serializers.IntegerField(
        read_only=True, help_text=_("How many notices in your inbox are unread.")
    )


# --- Units ----------------------------------------------------------------------------------


class OrgUnitOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True, help_text=_("Unit id."))
    code = serializers.CharField(read_only=True, help_text=_("Stable unit code used by imports."))
    name = serializers.CharField(read_only=True, help_text=_("Unit name."))
    kind = serializers.CharField(
        read_only=True, help_text=_("Free text such as city, district, department, township.")
    )
    parent = serializers.IntegerField(
        source="lineage.parent_id",
        read_only=True,
        allow_null=True,
        help_text=_("Id of the parent unit; null for a root."),
    )
    depth = serializers.IntegerField(read_only=True, help_text=_("1 for a root, 2 below it, …"))
    full_name = serializers.CharField(
        source="lineage.full_name",
        read_only=True,
        help_text=_("Names from the root down to this unit, joined by “/”."),
    )
    is_active = serializers.BooleanField(read_only=True, help_text=_("False once closed."))
    member_count = serializers.IntegerField(
        read_only=True,
        help_text=_("Active people whose unit is exactly this one (not its subtree)."),
    )


# --- People ---------------------------------------------------------------------------------

PERSONAL_FIELDS = ("phone", "email", "birth_date")


class PersonOutputSerializer(serializers.Serializer):
    """A person. Phone, e-mail and birth date are null unless you may see them."""

    id = serializers.IntegerField(read_only=True, help_text=_("Person id."))
    employee_no = serializers.CharField(read_only=True, help_text=_("Employee number."))
    name = serializers.CharField(read_only=True, help_text=_("Name."))
    unit = OrgUnitPathSerializer(read_only=True, allow_null=True, help_text=_("Current unit."))
    cadre_level = CadreLevelRefSerializer(
        read_only=True, allow_null=True, help_text=_("Cadre level, if any.")
    )
    gender = serializers.ChoiceField(
        choices=User.Gender.choices,
        read_only=True,
        allow_blank=True,
        help_text=_("M or F; empty when unknown."),
    )
    is_active = serializers.BooleanField(
        read_only=True, help_text=_("False for people who left; they cannot log in.")
    )
    phone = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text=_(
            "Phone; null unless this is you or you are an admin/manager of the person's unit."
        ),
    )
    email = serializers.EmailField(
        read_only=True,
        allow_null=True,
        help_text=_(
            "E-mail; null unless this is you or you are an admin/manager of the person's unit."
        ),
    )
    birth_date = serializers.DateField(
        read_only=True,
        allow_null=True,
        help_text=_(
            "Birth date; null unless this is you or you are an admin/manager of the person's unit."
        ),
    )

    def to_representation(self, instance: User) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is None or not selectors.can_view_personal_details(request.user, instance):
            for field in PERSONAL_FIELDS:
                data[field] = None
        return data


# --- Cadre levels ----------------------------------------------------------------------------


class CadreLevelOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True, help_text=_("Cadre level id."))
    code = serializers.CharField(read_only=True, help_text=_("Cadre level code."))
    name = serializers.CharField(
        read_only=True,
        # Translators: cadre levels are e.g. 处级 / 科级 / 一般干部.
        help_text=_("Cadre level name, e.g. division level or section level."),
    )
    sort_order = serializers.IntegerField(read_only=True, help_text=_("Lower comes first."))


class CadreLevelInputSerializer(StrictInputSerializer):
    code = serializers.CharField(
        max_length=CadreLevel._meta.get_field("code").max_length,
        help_text=_("Unique code, e.g. “KJ”."),
    )
    name = serializers.CharField(
        max_length=CadreLevel._meta.get_field("name").max_length,
        # Translators: cadre levels are e.g. 处级 / 科级 / 一般干部.
        help_text=_("Unique name, e.g. section level."),
    )
    sort_order = serializers.IntegerField(
        min_value=0, max_value=2_147_483_647, default=0, help_text=_("Lower comes first.")
    )


# --- Notifications -----------------------------------------------------------------------------


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True, help_text=_("Notice id."))
    kind = serializers.CharField(
        read_only=True, help_text=_("Which part of the portal sent it, e.g. feedback.")
    )
    title = serializers.CharField(read_only=True, help_text=_("Title."))
    body = serializers.CharField(read_only=True, help_text=_("Text; may be empty."))
    link = serializers.CharField(read_only=True, help_text=_("Portal page it refers to, if any."))
    created_at = serializers.DateTimeField(read_only=True, help_text=_("When it was sent."))
    read_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text=_("When you read it; null while unread.")
    )


class NotificationReadInputSerializer(StrictInputSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=1000,
        help_text=_("Ids of your notices to mark read. Leave out to mark every notice read."),
    )


class NotificationReadOutputSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text=_("How many notices were marked read now."))
    unread_notifications = serializers.IntegerField(help_text=_("How many are still unread."))


# --- Feedback (意见建议) ------------------------------------------------------------------------


class FeedbackOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True, help_text=_("Feedback id."))
    kind = serializers.ChoiceField(
        choices=Feedback.Kind.choices,
        read_only=True,
        help_text=_("suggestion, complaint or question."),
    )
    subject = serializers.CharField(read_only=True, help_text=_("Subject."))
    body = serializers.CharField(read_only=True, help_text=_("The message."))
    status = serializers.ChoiceField(
        choices=Feedback.Status.choices,
        read_only=True,
        help_text=_("open until an admin answers it, then answered."),
    )
    author = FeedbackPersonSerializer(read_only=True, help_text=_("Who sent it."))
    unit = OrgUnitRefSerializer(
        read_only=True, help_text=_("The author's unit when it was sent; its admins answer.")
    )
    created_at = serializers.DateTimeField(read_only=True, help_text=_("When it was sent."))
    reply = serializers.CharField(read_only=True, help_text=_("The admins' answer; may be empty."))
    replied_by = FeedbackPersonSerializer(
        read_only=True, allow_null=True, help_text=_("Who answered; null while open.")
    )
    replied_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text=_("When it was answered; null while open.")
    )


class FeedbackInputSerializer(StrictInputSerializer):
    # Translators: the feedback box is 意见建议.
    kind = serializers.ChoiceField(
        choices=Feedback.Kind.choices, help_text=_("suggestion, complaint or question.")
    )
    subject = serializers.CharField(max_length=200, help_text=_("Subject, at most 200 characters."))
    body = serializers.CharField(
        max_length=5000, help_text=_("Your message, at most 5,000 characters.")
    )


class FeedbackReplyInputSerializer(StrictInputSerializer):
    reply = serializers.CharField(
        max_length=5000,
        help_text=_("Your answer, at most 5,000 characters; replaces an earlier answer."),
    )
