"""Serializers of the credits API: outputs describe rows, inputs describe commands.

Outputs only read what the selectors prepared (select_related / annotations), so a list
never runs a query per row. Inputs refuse unknown fields and check shapes; every rule
(scope, caps, mandatory reasons, inactive people) lives in `credits.services`.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from credits.models import (
    AwardRule,
    CreditEntry,
    CreditPolicy,
    RankingPolicy,
    RankingVisibility,
    RequiredOrElective,
    Requirement,
    SourceKind,
    SourceRule,
)
from learning_portal.api import StrictInputSerializer


class PointsField(serializers.CharField):
    """Points as a string in input ("1.5"), so the service — not float parsing — judges them."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float | Decimal):
            raise serializers.ValidationError(_("Enter a number of points, such as 1 or 0.5."))
        return str(data).strip()


class PersonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True, help_text=_("Person id."))
    employee_no = serializers.CharField(read_only=True, help_text=_("Employee number."))
    name = serializers.CharField(read_only=True, help_text=_("Name."))


# --- Ledger ------------------------------------------------------------------------------


class EntryOutputSerializer(serializers.ModelSerializer):
    """One ledger line: the cause, the points, who recorded it and why."""

    person = PersonRefSerializer(read_only=True, help_text=_("Whose ledger the entry is in."))
    source_label = serializers.CharField(
        source="get_source_kind_display", read_only=True, help_text=_("The source in words.")
    )
    created_by_name = serializers.SerializerMethodField(
        help_text=_("Who recorded it (adjustments and reversals); empty for automatic credits.")
    )
    reverses = serializers.IntegerField(
        source="reverses_id", read_only=True, allow_null=True,
        help_text=_("Id of the entry this one cancels."),
    )
    is_reversed = serializers.BooleanField(
        read_only=True, help_text=_("Whether a later entry cancels this one.")
    )

    class Meta:
        model = CreditEntry
        fields = [
            "id", "person", "source_kind", "source_label", "source_ref", "label", "points",
            "occurred_at", "created_at", "created_by_name", "reason", "reverses", "is_reversed",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "label": {"help_text": _("The cause, e.g. 课程：《…》.")},
            "points": {"help_text": _("Points, positive or negative, two decimals.")},
            "occurred_at": {"help_text": _("When the cause happened; decides the period.")},
        }

    def get_created_by_name(self, entry: CreditEntry) -> str:
        return entry.created_by.name if entry.created_by_id else ""


class ReverseInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(
        max_length=500, allow_blank=True, help_text=_("Why the entry is cancelled (mandatory).")
    )


class AdjustmentInputSerializer(StrictInputSerializer):
    person = serializers.IntegerField(help_text=_("Id of a person in a unit you administer."))
    points = PointsField(help_text=_('Points to add (or take away with a minus), e.g. "2" or "-0.5".'))
    reason = serializers.CharField(
        max_length=500, allow_blank=True, help_text=_("Why; shown in the person's ledger (mandatory).")
    )


# --- Summaries and rankings -------------------------------------------------------------------


class SourceLineSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SourceKind.choices, read_only=True)
    label = serializers.CharField(read_only=True)
    raw = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True,
                                   help_text=_("Points earned from this source."))
    counted = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True,
                                       help_text=_("Points that count after the annual cap."))
    cap = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, allow_null=True)
    counts_as = serializers.ChoiceField(choices=RequiredOrElective.choices, read_only=True)


class RankInfoSerializer(serializers.Serializer):
    period = serializers.CharField(read_only=True)
    rank_org = serializers.IntegerField(read_only=True, allow_null=True,
                                        help_text=_("Rank in your organisation (ties share)."))
    org_size = serializers.IntegerField(read_only=True, allow_null=True)
    rank_unit = serializers.IntegerField(read_only=True, allow_null=True,
                                         help_text=_("Rank in your unit (ties share)."))
    unit_size = serializers.IntegerField(read_only=True, allow_null=True)


class YearSummarySerializer(serializers.Serializer):
    """Your credits in a year against the requirement of your cadre level."""

    year = serializers.IntegerField(read_only=True)
    unit_label = serializers.CharField(read_only=True, help_text=_("What points are called: 学分 or 学时."))
    total = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True,
                                     help_text=_("Credits that count this year (caps applied)."))
    required = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, allow_null=True,
                                        help_text=_("The annual requirement of your cadre level."))
    required_from_required = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True,
                                                      allow_null=True)
    earned_required = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    earned_elective = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)
    target_to_date = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, allow_null=True,
                                              help_text=_("The pro-rata requirement for today."))
    on_track = serializers.BooleanField(read_only=True, allow_null=True)
    by_source = SourceLineSerializer(many=True, read_only=True)
    rank = RankInfoSerializer(read_only=True, allow_null=True,
                              help_text=_("Null when your organisation switched rankings off."))


class RankRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(read_only=True, allow_null=True)
    name = serializers.CharField(read_only=True, help_text=_("Name (masked as 张* when the organisation says so)."))
    unit_name = serializers.CharField(read_only=True)
    total = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True,
                                     help_text=_("Points in the period (units: average per member)."))
    is_me = serializers.BooleanField(read_only=True, help_text=_("Your own row (or your own unit's)."))
    unit_id = serializers.IntegerField(read_only=True, allow_null=True)
    members = serializers.IntegerField(source="extra.members", read_only=True, required=False)
    compliance_percent = serializers.FloatField(source="extra.compliance_percent", read_only=True, required=False)


class RankingOutputSerializer(serializers.Serializer):
    period = serializers.CharField(source="period.key", read_only=True)
    scope = serializers.IntegerField(source="scope.pk", read_only=True, help_text=_("Id of the ranked unit subtree."))
    scope_name = serializers.CharField(source="scope.name", read_only=True)
    visibility = serializers.ChoiceField(choices=RankingVisibility.choices, read_only=True,
                                         help_text=_("What your organisation lets you see."))
    count = serializers.IntegerField(read_only=True, help_text=_("Rows you may page through."))
    ranked = serializers.IntegerField(read_only=True, help_text=_("Everyone in the ranking."))
    page = serializers.IntegerField(read_only=True)
    has_next = serializers.BooleanField(read_only=True)
    live = serializers.BooleanField(read_only=True, help_text=_("Read from the live ranking."))
    message = serializers.CharField(read_only=True)
    results = RankRowSerializer(source="rows", many=True, read_only=True)
    me = RankRowSerializer(read_only=True, allow_null=True, help_text=_("Your own rank, when in scope."))


class ComplianceRowSerializer(serializers.Serializer):
    unit_id = serializers.IntegerField(source="unit.pk", read_only=True)
    unit_code = serializers.CharField(source="unit.code", read_only=True)
    unit = serializers.CharField(source="full_name", read_only=True)
    members = serializers.IntegerField(read_only=True, help_text=_("Active members."))
    on_track = serializers.IntegerField(read_only=True)
    behind = serializers.IntegerField(read_only=True, help_text=_("Members below the pro-rata requirement."))
    compliance_percent = serializers.FloatField(read_only=True)
    avg_points = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    stats_date = serializers.DateField(read_only=True, allow_null=True)


# --- Rules -------------------------------------------------------------------------------------


class PolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditPolicy
        fields = [
            "unit_label", "course_long_minutes", "course_long_points", "course_medium_minutes",
            "course_medium_points", "course_short_points", "attendance_points_per_hour",
            "lecture_multiplier", "exam_points", "award_points", "updated_at",
        ]
        read_only_fields = fields


class PolicyInputSerializer(StrictInputSerializer):
    unit_label = serializers.CharField(required=False, max_length=10)
    course_long_minutes = serializers.IntegerField(required=False)
    course_long_points = PointsField(required=False)
    course_medium_minutes = serializers.IntegerField(required=False)
    course_medium_points = PointsField(required=False)
    course_short_points = PointsField(required=False)
    attendance_points_per_hour = PointsField(required=False)
    lecture_multiplier = PointsField(required=False)
    exam_points = PointsField(required=False)
    award_points = PointsField(required=False)


class SourceRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = SourceRule
        fields = ["id", "source_kind", "year", "counts_as", "cap_percent", "cap_points"]
        read_only_fields = fields


class SourceRuleInputSerializer(StrictInputSerializer):
    source_kind = serializers.ChoiceField(choices=SourceKind.choices)
    year = serializers.IntegerField(help_text=_("The rule applies from this year on."))
    counts_as = serializers.ChoiceField(choices=RequiredOrElective.choices, required=False,
                                        default=RequiredOrElective.ELECTIVE)
    cap_percent = PointsField(required=False, allow_null=True,
                              # xgettext:no-python-format
                              help_text=_("At most this % of the requirement counts per year."))
    cap_points = PointsField(required=False, allow_null=True)


class AwardRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = AwardRule
        fields = ["id", "award_code", "name", "points"]
        read_only_fields = fields


class AwardRuleInputSerializer(StrictInputSerializer):
    award_code = serializers.CharField(max_length=50)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    points = PointsField()


class RequirementSerializer(serializers.ModelSerializer):
    cadre_level_name = serializers.CharField(source="cadre_level.name", read_only=True, default="")

    class Meta:
        model = Requirement
        fields = ["id", "cadre_level", "cadre_level_name", "year", "points", "required_points"]
        read_only_fields = fields


class RequirementInputSerializer(StrictInputSerializer):
    cadre_level = serializers.IntegerField(
        allow_null=True, help_text=_("Cadre level id; null for everyone without a level of their own.")
    )
    year = serializers.IntegerField(help_text=_("The requirement applies from this year on."))
    points = PointsField()
    required_points = PointsField(required=False, allow_null=True)


class RankingPolicySerializer(serializers.ModelSerializer):
    root_name = serializers.CharField(source="root.name", read_only=True)

    class Meta:
        model = RankingPolicy
        fields = ["id", "root", "root_name", "visibility", "top_n", "mask_names"]
        read_only_fields = fields


class RankingPolicyInputSerializer(StrictInputSerializer):
    root = serializers.IntegerField(help_text=_("Id of an organisation (top-level unit)."))
    visibility = serializers.ChoiceField(choices=RankingVisibility.choices)
    top_n = serializers.IntegerField(required=False, default=10)
    mask_names = serializers.BooleanField(required=False, default=False)
