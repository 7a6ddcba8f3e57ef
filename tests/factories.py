"""factory-boy factories shared by every app's tests."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from org.models import CadreLevel, Feedback, Notification, OrgUnit, Role, RoleGrant, User


class OrgUnitFactory(DjangoModelFactory):
    """Builds a unit through treebeard: pass `parent=` for a child, none for a root."""

    class Meta:
        model = OrgUnit

    code = factory.Sequence(lambda n: f"U{n:05d}")
    name = factory.Sequence(lambda n: f"单位{n}")
    kind = ""

    @classmethod
    def _create(cls, model_class, *args, parent: OrgUnit | None = None, **kwargs):
        if parent is None:
            return OrgUnit.objects.add_root(kwargs)
        return OrgUnit.objects.add_child(parent, kwargs)


class CadreLevelFactory(DjangoModelFactory):
    class Meta:
        model = CadreLevel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"L{n}")
    name = factory.Sequence(lambda n: f"级别{n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    employee_no = factory.Sequence(lambda n: f"E{n:06d}")
    name = factory.Sequence(lambda n: f"员工{n}")
    unit = factory.SubFactory(OrgUnitFactory)
    password = factory.PostGenerationMethodCall("set_password", "pass-12345")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class RoleGrantFactory(DjangoModelFactory):
    class Meta:
        model = RoleGrant

    user = factory.SubFactory(UserFactory)
    unit = factory.SubFactory(OrgUnitFactory)
    role = Role.UNIT_ADMIN


class NotificationFactory(DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"通知{n}")


class FeedbackFactory(DjangoModelFactory):
    class Meta:
        model = Feedback

    author = factory.SubFactory(UserFactory)
    unit = factory.LazyAttribute(lambda o: o.author.unit)
    kind = Feedback.Kind.SUGGESTION
    subject = factory.Sequence(lambda n: f"建议{n}")
    body = "希望增加更多业务课程。"


class OrgTree:
    """A small organisation for scope tests: city → two districts → townships, people in each.

        city (C)
        ├── district A (DA) ── township A1 (TA1), township A2 (TA2)
        └── district B (DB) ── township B1 (TB1)

    `people[code]` is one active learner working in the unit with that code.
    """

    def __init__(self) -> None:
        self.city = OrgUnitFactory(code="C", name="示范市", kind="city")
        self.district_a = OrgUnitFactory(parent=self.city, code="DA", name="东区", kind="district")
        self.district_b = OrgUnitFactory(parent=self.city, code="DB", name="西区", kind="district")
        self.township_a1 = OrgUnitFactory(parent=self.district_a, code="TA1", name="东一街道")
        self.township_a2 = OrgUnitFactory(parent=self.district_a, code="TA2", name="东二街道")
        self.township_b1 = OrgUnitFactory(parent=self.district_b, code="TB1", name="西一街道")
        self.units = {
            u.code: u
            for u in (
                self.city,
                self.district_a,
                self.district_b,
                self.township_a1,
                self.township_a2,
                self.township_b1,
            )
        }
        self.people = {
            code: UserFactory(unit=unit, name=f"{unit.name}职工", employee_no=f"P-{code}")
            for code, unit in self.units.items()
        }


# --- credits ------------------------------------------------------------------------------


def _decimal(value: str):
    from decimal import Decimal

    return Decimal(value)


class CreditEntryFactory(factory.Factory):
    """A ledger entry written the only way entries are written: `credits.services.credit_award`."""

    class Meta:
        model = dict

    person = factory.SubFactory(UserFactory)
    source_kind = "course"
    source_ref = factory.Sequence(lambda n: f"courses.course:{n}")
    points = factory.LazyFunction(lambda: _decimal("1.00"))
    idempotency_key = factory.Sequence(lambda n: f"test:{n}")
    label = factory.Sequence(lambda n: f"课程：《测试课程{n}》")
    occurred_at = None
    created_by = None
    reason = ""

    @classmethod
    def _create(cls, model_class, **kwargs):
        from credits import services

        return services.credit_award(**kwargs)

    _build = _create


class RequirementFactory(DjangoModelFactory):
    class Meta:
        model = "credits.Requirement"

    cadre_level = factory.SubFactory(CadreLevelFactory)
    year = 2025
    points = factory.LazyFunction(lambda: _decimal("50"))
    required_points = None


class SourceRuleFactory(DjangoModelFactory):
    class Meta:
        model = "credits.SourceRule"
        django_get_or_create = ("source_kind", "year")

    source_kind = "course"
    year = 2025
    counts_as = "elective"
    cap_percent = None
    cap_points = None


class RankingPolicyFactory(DjangoModelFactory):
    class Meta:
        model = "credits.RankingPolicy"
        django_get_or_create = ("root",)

    root = factory.SubFactory(OrgUnitFactory)
    visibility = "top_n"
    top_n = 10
    mask_names = False
