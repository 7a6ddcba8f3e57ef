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
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
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
