"""Input and output shapes of the micro-class API. Inputs refuse unknown fields; logic
lives in the services, never here."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from learning_portal.api import StrictInputSerializer
from org.models import CadreLevel, OrgUnit, User
from sessions.models import (
    Attendance,
    Courseware,
    Declaration,
    Format,
    Menu,
    MenuTopic,
    PlanItem,
    Session,
    Speaker,
    TeachingPlan,
    Track,
    Venue,
    Wish,
)

# --- Output -------------------------------------------------------------------------------------


class TrackSerializer(serializers.ModelSerializer):
    class Meta:
        model = Track
        fields = ["id", "name", "description", "sort_order", "is_active"]


class SpeakerSerializer(serializers.ModelSerializer):
    is_external = serializers.BooleanField(read_only=True)
    employee_no = serializers.CharField(source="person.employee_no", default=None, read_only=True)

    class Meta:
        model = Speaker
        fields = ["id", "name", "organisation", "title", "expertise", "unit", "person", "employee_no",
                  "is_external", "is_active"]


class VenueSerializer(serializers.ModelSerializer):
    class Meta:
        model = Venue
        fields = ["id", "unit", "name", "kind", "address", "capacity", "is_active"]


class MenuTopicSerializer(serializers.ModelSerializer):
    track_name = serializers.CharField(source="track.name", read_only=True)
    demand = serializers.IntegerField(read_only=True, required=False)
    chosen = serializers.BooleanField(read_only=True, required=False)

    class Meta:
        model = MenuTopic
        fields = ["id", "menu", "track", "track_name", "ability_area", "title", "description", "sort_order",
                  "demand", "chosen"]


class MenuSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)

    class Meta:
        model = Menu
        fields = ["id", "unit", "unit_name", "year", "title", "introduction", "status", "published_at"]


class WishSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name", read_only=True)

    class Meta:
        model = Wish
        fields = ["id", "menu", "person", "person_name", "text", "created_at"]


class DeclarationSerializer(serializers.ModelSerializer):
    declarer_name = serializers.CharField(source="declarer.name", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    track_name = serializers.CharField(source="track.name", read_only=True)

    class Meta:
        model = Declaration
        fields = ["id", "declarer", "declarer_name", "unit", "unit_name", "year", "kind", "title", "outline",
                  "track", "track_name", "format", "audience_note", "menu_topic", "status", "review_comment",
                  "reviewed_by", "reviewed_at", "created_at"]


class PlanItemSerializer(serializers.ModelSerializer):
    track_name = serializers.CharField(source="track.name", read_only=True)
    speaker_name = serializers.CharField(source="speaker.name", default=None, read_only=True)

    class Meta:
        model = PlanItem
        fields = ["id", "plan", "month", "title", "track", "track_name", "declaration", "speaker",
                  "speaker_name", "demand", "session"]


class PlanSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)

    class Meta:
        model = TeachingPlan
        fields = ["id", "unit", "unit_name", "year", "monthly_target", "created_at"]


class SessionSerializer(serializers.ModelSerializer):
    """A class in a list or detail; the `my_*` fields are about the caller."""

    track_name = serializers.CharField(source="track.name", read_only=True)
    host_unit_name = serializers.CharField(source="host_unit.name", read_only=True)
    venue_name = serializers.CharField(source="venue.name", default=None, read_only=True)
    speakers = serializers.SerializerMethodField()
    registered_count = serializers.IntegerField(read_only=True, default=None)
    is_registered = serializers.BooleanField(read_only=True, default=None)
    my_status = serializers.CharField(read_only=True, default=None)

    class Meta:
        model = Session
        fields = ["id", "title", "description", "track", "track_name", "format", "host_unit", "host_unit_name",
                  "speakers", "audience_open", "venue", "venue_name", "location_note", "online_url", "start", "end",
                  "capacity", "attend_points", "lecture_points", "status", "cancel_reason", "registered_count",
                  "is_registered", "my_status", "checkin_opens_before", "checkin_closes_after", "late_after"]

    def get_speakers(self, obj: Session) -> list[dict]:
        return [
            {"id": link.speaker_id, "name": link.speaker.name, "is_external": link.speaker.person_id is None}
            for link in obj.speaker_links.all()
        ]


class AttendanceSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name", read_only=True)
    employee_no = serializers.CharField(source="person.employee_no", read_only=True)
    unit_name = serializers.CharField(source="unit.name", default=None, read_only=True)

    class Meta:
        model = Attendance
        fields = ["id", "session", "person", "person_name", "employee_no", "unit", "unit_name", "status", "method",
                  "checked_in_at", "reason", "updated_at"]


class CoursewareSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Courseware
        fields = ["id", "session", "kind", "original_name", "size", "uploaded_at", "in_library", "download_url"]

    def get_download_url(self, obj: Courseware) -> str:
        return f"/lectures/courseware/{obj.pk}/download/"


# --- Input ---------------------------------------------------------------------------------------


class TrackInput(StrictInputSerializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    sort_order = serializers.IntegerField(required=False, default=0, min_value=0)
    is_active = serializers.BooleanField(required=False, default=True)


class SpeakerInput(StrictInputSerializer):
    person = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False, allow_null=True,
                                                help_text=_("A member of staff; leave empty for an external expert."))
    name = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    organisation = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    title = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    expertise = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all(), required=False, allow_null=True)
    is_active = serializers.BooleanField(required=False, default=True)


class VenueInput(StrictInputSerializer):
    unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all())
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=Venue.Kind.choices, default=Venue.Kind.ROOM)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    capacity = serializers.IntegerField(required=False, allow_null=True, default=None)
    is_active = serializers.BooleanField(required=False, default=True)


class MenuInput(StrictInputSerializer):
    unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all())
    year = serializers.IntegerField()
    title = serializers.CharField(max_length=200)
    introduction = serializers.CharField(required=False, allow_blank=True, default="")


class MenuUpdateInput(StrictInputSerializer):
    title = serializers.CharField(max_length=200)
    introduction = serializers.CharField(required=False, allow_blank=True, default="")


class MenuTopicInput(StrictInputSerializer):
    menu = serializers.PrimaryKeyRelatedField(queryset=Menu.objects.all())
    track = serializers.PrimaryKeyRelatedField(queryset=Track.objects.filter(is_active=True))
    title = serializers.CharField(max_length=200)
    ability_area = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    sort_order = serializers.IntegerField(required=False, default=0, min_value=0)


class ChoicesInput(StrictInputSerializer):
    topics = serializers.ListField(child=serializers.IntegerField(), allow_empty=True,
                                   help_text=_("Ids of the topics the caller wants to learn (replaces earlier choices)."))


class WishInput(StrictInputSerializer):
    menu = serializers.PrimaryKeyRelatedField(queryset=Menu.objects.all())
    text = serializers.CharField(max_length=500)


class DeclarationInput(StrictInputSerializer):
    title = serializers.CharField(max_length=200)
    outline = serializers.CharField()
    track = serializers.PrimaryKeyRelatedField(queryset=Track.objects.filter(is_active=True))
    format = serializers.ChoiceField(choices=Format.choices, default=Format.LECTURE)
    kind = serializers.ChoiceField(choices=Declaration.Kind.choices, default=Declaration.Kind.REGULAR)
    year = serializers.IntegerField(required=False, allow_null=True, default=None)
    audience_note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    menu_topic = serializers.PrimaryKeyRelatedField(queryset=MenuTopic.objects.all(), required=False, allow_null=True,
                                                    default=None)


class ReviewInput(StrictInputSerializer):
    decision = serializers.ChoiceField(choices=[("approve", _("approve")), ("reject", _("reject"))])
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    title = serializers.CharField(max_length=200, required=False)
    outline = serializers.CharField(required=False)
    track = serializers.PrimaryKeyRelatedField(queryset=Track.objects.filter(is_active=True), required=False)
    format = serializers.ChoiceField(choices=Format.choices, required=False)


class PlanInput(StrictInputSerializer):
    unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all())
    year = serializers.IntegerField()
    monthly_target = serializers.IntegerField(required=False, allow_null=True, default=None)


class PlanItemInput(StrictInputSerializer):
    plan = serializers.PrimaryKeyRelatedField(queryset=TeachingPlan.objects.all())
    month = serializers.IntegerField()
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    track = serializers.PrimaryKeyRelatedField(queryset=Track.objects.all(), required=False, allow_null=True, default=None)
    declaration = serializers.PrimaryKeyRelatedField(queryset=Declaration.objects.all(), required=False,
                                                     allow_null=True, default=None)


class PlanItemUpdateInput(StrictInputSerializer):
    month = serializers.IntegerField()
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class SessionInput(StrictInputSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    track = serializers.PrimaryKeyRelatedField(queryset=Track.objects.filter(is_active=True))
    format = serializers.ChoiceField(choices=Format.choices, default=Format.LECTURE)
    host_unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all())
    speakers = serializers.PrimaryKeyRelatedField(queryset=Speaker.objects.all(), many=True)
    audience_open = serializers.BooleanField(default=True)
    audience_units = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all(), many=True, required=False,
                                                        default=list)
    audience_levels = serializers.PrimaryKeyRelatedField(queryset=CadreLevel.objects.all(), many=True,
                                                         required=False, default=list)
    venue = serializers.PrimaryKeyRelatedField(queryset=Venue.objects.all(), required=False, allow_null=True,
                                               default=None)
    location_note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    online_url = serializers.URLField(required=False, allow_blank=True, default="")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    capacity = serializers.IntegerField(required=False, allow_null=True, default=None,
                                        help_text=_("Seats; empty for no limit and no registration."))
    attend_points = serializers.DecimalField(max_digits=6, decimal_places=2, required=False, allow_null=True,
                                             default=None)
    lecture_points = serializers.DecimalField(max_digits=6, decimal_places=2, required=False, allow_null=True,
                                              default=None)
    plan_item = serializers.PrimaryKeyRelatedField(queryset=PlanItem.objects.all(), required=False, allow_null=True,
                                                   default=None)


class SessionUpdateInput(SessionInput):
    host_unit = None
    plan_item = None


class CancelInput(StrictInputSerializer):
    reason = serializers.CharField(max_length=500)


class CheckinInput(StrictInputSerializer):
    token = serializers.CharField(required=False, allow_blank=True, default="",
                                  help_text=_("The token from the QR code."))
    code = serializers.CharField(required=False, allow_blank=True, default="",
                                 help_text=_("The 6-digit code shown on the screen."))


class CodeInput(StrictInputSerializer):
    code = serializers.CharField(max_length=12)


class MarkInput(StrictInputSerializer):
    person = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    status = serializers.ChoiceField(choices=Attendance.Status.choices)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CoursewareInput(StrictInputSerializer):
    file = serializers.FileField()
