"""Shared set-up of the evaluations tests.

The tree (tests.factories.OrgTree): city → district A (townships A1, A2) and district B
(township B1). Grants under test are on district A; "inside" is township A2, "outside"
township B1. Tests marked `postgres` run only on PostgreSQL.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import translation

from credits.rules import forget_rules
from org.models import Role, User
from tests.factories import OrgTree, RoleGrantFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL)"))


@pytest.fixture(autouse=True)
def _in_english(settings):
    """Messages are asserted in the source language, whatever the zh_Hans catalogue says."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_credit_rules():
    forget_rules()
    yield
    forget_rules()


@pytest.fixture(autouse=True)
def _default_award_types(request):
    """The award types the data migration seeds, even after a transactional test (here or in
    another app) emptied the tables."""
    if request.node.get_closest_marker("django_db") is None:
        yield
        return
    request.getfixturevalue("_django_db_helper")
    from django.apps import apps as django_apps

    from evaluations.models import AwardType

    if not AwardType.objects.exists():
        import importlib

        importlib.import_module("evaluations.migrations.0002_default_award_types").create(django_apps, None)
    yield


ROLES = ["learner", "unit_admin", "manager", "class_teacher", "system_admin"]
PLACES = ["inside", "outside"]


def fresh(user: User) -> User:
    """A new object for the user (the scope is cached per object)."""
    return User.objects.select_related("unit").get(pk=user.pk)


def actor_for(role: str, tree: OrgTree) -> User:
    if role == "learner":
        return UserFactory(unit=tree.township_a1, employee_no=f"ACTOR-{role}")
    if role == "system_admin":
        return UserFactory(unit=tree.city, employee_no=f"ACTOR-{role}", is_superuser=True)
    actor = UserFactory(unit=tree.district_a, employee_no=f"ACTOR-{role}")
    RoleGrantFactory(user=actor, unit=tree.district_a, role=Role(role))
    return actor


@pytest.fixture
def tree(db) -> OrgTree:
    return OrgTree()
