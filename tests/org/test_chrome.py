"""The page chrome: the main menu follows the viewer's roles and language, although it is
rendered once per process for each combination (org.templatetags.portal_chrome)."""

from __future__ import annotations

import pytest
from django.test import Client

from org.models import Role
from tests.factories import OrgTree, RoleGrantFactory, UserFactory

pytestmark = pytest.mark.django_db

ADMIN_ONLY = ("/courses/manage/", "/credits/adjustments/", "/org/roster-import/")
ORG_VIEWERS = ("/org/units/", "/courses/dynamic/")


def page(user, path: str = "/", language: str | None = None) -> str:
    client = Client()
    client.force_login(user)
    if language:
        client.post("/i18n/setlang/", {"language": language, "next": "/"})
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def people():
    tree = OrgTree()
    learner = UserFactory(unit=tree.township_a1, name="李雷")
    admin = UserFactory(unit=tree.district_a, name="韩梅")
    RoleGrantFactory(user=admin, unit=tree.district_a, role=Role.UNIT_ADMIN)
    manager = UserFactory(unit=tree.city, name="赵强")
    RoleGrantFactory(user=manager, unit=tree.city, role=Role.MANAGER)
    superuser = UserFactory(unit=tree.city, is_superuser=True, is_staff=True)
    return learner, admin, manager, superuser


def links(html: str, paths) -> set[str]:
    return {path for path in paths if f'href="{path}' in html}


def test_each_role_gets_its_own_menu_even_when_pages_alternate(people):
    learner, admin, manager, superuser = people
    for _round in range(2):  # the second round is served from the per-process menus
        learner_page = page(learner)
        assert links(learner_page, ADMIN_ONLY + ORG_VIEWERS) == set()
        assert 'href="/reports/"' not in learner_page
        assert "李雷" in learner_page

        admin_page = page(admin)
        assert links(admin_page, ADMIN_ONLY) == set(ADMIN_ONLY)
        assert 'href="/reports/"' in admin_page
        assert "韩梅" in admin_page and "李雷" not in admin_page

        manager_page = page(manager)
        assert links(manager_page, ORG_VIEWERS) == set(ORG_VIEWERS)
        assert links(manager_page, ADMIN_ONLY) == set()
        assert 'href="/reports/"' in manager_page

        system_page = page(superuser)
        assert 'href="/admin/"' in system_page and 'href="/credits/rules/"' in system_page
        assert 'href="/admin/"' not in admin_page


@pytest.mark.zh
def test_the_menu_follows_the_language(people):
    learner = people[0]
    assert "我的课程" in page(learner)
    english = page(learner, language="en")
    assert "My courses" in english and "我的课程" not in english
    assert "我的课程" in page(learner, language="zh-hans")


def test_scope_and_unread_count_cost_one_query_and_stay_right(people, django_assert_num_queries):
    from org import selectors, services
    from org.models import User
    from tests.factories import NotificationFactory

    admin = people[1]
    NotificationFactory(recipient=admin)
    NotificationFactory(recipient=admin)
    NotificationFactory(recipient=people[0])
    me = User.objects.get(pk=admin.pk)
    with django_assert_num_queries(1):
        scope = selectors.scope_for(me)
        unread = selectors.unread_notification_count(me)
    assert unread == 2
    assert scope.manage and scope.roles == {Role.UNIT_ADMIN}

    services.notifications_mark_read(user=me)
    assert selectors.unread_notification_count(me) == 0
    services.notification_send(recipients=[me], title="新通知")
    assert selectors.unread_notification_count(me) == 1
    assert 'data-testid="unread-count">1<' in page(admin)
