"""Writes to the organisation: units, cadre levels, role grants, notices, feedback."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import translation

from org import selectors, services
from org.models import CadreLevel, Feedback, Notification, OrgUnit, Role, RoleGrant, User
from tests.factories import (
    CadreLevelFactory,
    FeedbackFactory,
    NotificationFactory,
    OrgUnitFactory,
    RoleGrantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are compared in English, the source language, whatever the default is."""
    with translation.override("en"):
        yield


@pytest.fixture
def org():
    """市 → 东城区 → 东华门街道, 市 → 西城区; a system admin and a unit admin of 东城区."""
    city = OrgUnitFactory(code="CITY", name="市")
    district = OrgUnitFactory(parent=city, code="D1", name="东城区")
    township = OrgUnitFactory(parent=district, code="D1T1", name="东华门街道")
    other = OrgUnitFactory(parent=city, code="D2", name="西城区")
    sysadmin = UserFactory(unit=city, is_superuser=True)
    unit_admin = UserFactory(unit=district, email="admin@example.cn")
    RoleGrantFactory(user=unit_admin, unit=district, role=Role.UNIT_ADMIN)
    return SimpleNamespace(
        city=city, district=district, township=township, other=other, sysadmin=sysadmin, unit_admin=unit_admin
    )


def _tree() -> list[tuple[str, str, int]]:
    """(code, path, depth) of every unit in tree order: a snapshot to prove nothing changed."""
    return list(OrgUnit.objects.values_list("code", "path", "depth"))


def _assert_tree_consistent() -> None:
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])


def _errors(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- unit_create -----------------------------------------------------------------------


def test_unit_create_adds_roots_and_children_sorted_by_sort_order_then_name(org):
    b = services.unit_create(parent=org.township, code=" S2 ", name=" B科 ", sort_order=1)
    a = services.unit_create(parent=org.township, code="S1", name="A科", sort_order=1)
    first = services.unit_create(parent=org.township, code="S0", name="办公室", sort_order=0)
    root = services.unit_create(parent=None, code="PROV", name="省直", kind=" 省 ")
    assert (b.code, b.name) == ("S2", "B科")
    assert list(OrgUnit.objects.get_children(org.township).values_list("code", flat=True)) == ["S0", "S1", "S2"]
    assert first.depth == a.depth == 4
    assert (root.depth, root.kind) == (1, "省")
    _assert_tree_consistent()


@pytest.mark.parametrize(
    ("code", "name", "field", "message"),
    [
        ("D2", "新单位", "code", "The code “D2” is already used by another unit."),
        ("  ", "新单位", "code", "A unit needs a code."),
        ("NEW", "  ", "name", "A unit needs a name."),
        ("NEW", "东城/区", "name", "A unit name cannot contain “/”: it separates levels in full paths."),
        ("NEW", "东华门街道", "name", "There is already a unit called “东华门街道” here."),
    ],
)
def test_unit_create_refuses_bad_input_and_writes_nothing(org, code, name, field, message):
    before = _tree()
    with pytest.raises(ValidationError) as excinfo:
        services.unit_create(parent=org.district, code=code, name=name)
    assert _errors(excinfo) == {field: [message]}
    assert _tree() == before


def test_unit_create_reports_every_bad_field_at_once(org):
    with pytest.raises(ValidationError) as excinfo:
        services.unit_create(parent=None, code="D1", name="a/b")
    assert set(_errors(excinfo)) == {"code", "name"}


def test_the_same_unit_name_is_fine_under_another_parent_but_not_twice_at_the_top(org):
    services.unit_create(parent=org.other, code="D2T1", name="东华门街道")
    with pytest.raises(ValidationError):
        services.unit_create(parent=None, code="CITY2", name="市")


def test_only_a_system_admin_actor_may_create_units(org):
    with pytest.raises(PermissionDenied):
        services.unit_create(parent=org.district, code="NEW", name="新单位", actor=org.unit_admin)
    assert not OrgUnit.objects.filter(code="NEW").exists()
    services.unit_create(parent=org.district, code="NEW", name="新单位", actor=org.sysadmin)
    assert OrgUnit.objects.filter(code="NEW").exists()


# --- unit_update -----------------------------------------------------------------------


def test_unit_update_saves_every_field(org):
    services.unit_update(unit=org.other, code=" D2X ", name=" 西城 ", kind="区", sort_order=4, is_active=False)
    org.other.refresh_from_db()
    assert (org.other.code, org.other.name, org.other.kind, org.other.sort_order, org.other.is_active) == (
        "D2X", "西城", "区", 4, False,
    )


def test_unit_update_keeps_its_own_code_and_name(org):
    services.unit_update(unit=org.district, code="D1", name="东城区", kind="区")
    assert OrgUnit.objects.get(pk=org.district.pk).kind == "区"


def test_unit_update_re_sorts_the_unit_among_its_siblings(org):
    east = org.district
    services.unit_update(unit=east, code="D1", name="东城区", sort_order=5)
    assert list(OrgUnit.objects.get_children(org.city).values_list("code", flat=True)) == ["D2", "D1"]
    # its subtree follows it
    township = OrgUnit.objects.get(pk=org.township.pk)
    assert OrgUnit.objects.get_parent(township).pk == east.pk
    services.unit_update(unit=east, code="D1", name="东城区", sort_order=0)
    assert list(OrgUnit.objects.get_children(org.city).values_list("code", flat=True)) == ["D1", "D2"]
    _assert_tree_consistent()


def test_renaming_a_root_re_sorts_the_roots(org):
    services.unit_create(parent=None, code="B", name="北京")
    services.unit_update(unit=org.city, code="CITY", name="重庆", sort_order=3)
    assert list(OrgUnit.objects.get_root_nodes().values_list("code", flat=True)) == ["B", "CITY"]
    _assert_tree_consistent()


@pytest.mark.parametrize(
    ("code", "name", "field"),
    [("D1", "西城区", "code"), ("", "西城区", "code"), ("D2", "", "name"), ("D2", "西/城", "name"), ("D2", "东城区", "name")],
)
def test_unit_update_refuses_bad_input_and_changes_nothing(org, code, name, field):
    before = _tree()
    with pytest.raises(ValidationError) as excinfo:
        services.unit_update(unit=org.other, code=code, name=name)
    assert list(_errors(excinfo)) == [field]
    org.other.refresh_from_db()
    assert (org.other.code, org.other.name) == ("D2", "西城区")
    assert _tree() == before


def test_a_unit_with_active_members_cannot_be_deactivated_but_inactive_members_do_not_block(org):
    member = UserFactory(unit=org.other)
    with pytest.raises(ValidationError) as excinfo:
        services.unit_update(unit=org.other, code="D2", name="西城区", is_active=False)
    assert list(_errors(excinfo)) == ["is_active"]
    assert OrgUnit.objects.get(pk=org.other.pk).is_active
    member.is_active = False
    member.save()
    services.unit_update(unit=org.other, code="D2", name="西城区", is_active=False)
    assert not OrgUnit.objects.get(pk=org.other.pk).is_active


def test_only_a_system_admin_actor_may_update_units(org):
    with pytest.raises(PermissionDenied):
        services.unit_update(unit=org.district, code="D1", name="改名", actor=org.unit_admin)
    assert OrgUnit.objects.get(pk=org.district.pk).name == "东城区"


# --- unit_move -------------------------------------------------------------------------


def test_unit_move_takes_the_whole_subtree_along(org):
    member = UserFactory(unit=org.township)
    moved = services.unit_move(unit=org.district, new_parent=org.other, actor=org.sysadmin)
    township = OrgUnit.objects.get(pk=org.township.pk)
    assert moved.path.startswith(org.other.path) and moved.depth == 3
    assert township.path.startswith(moved.path) and township.depth == 4
    assert selectors.unit_full_name(township) == "市/西城区/东城区/东华门街道"
    # the grant on the moved unit still covers its subtree, now under 西城区
    admin = User.objects.get(pk=org.unit_admin.pk)
    assert selectors.can_manage_person(admin, User.objects.select_related("unit").get(pk=member.pk))
    assert not selectors.can_manage_unit(admin, org.other)
    _assert_tree_consistent()


def test_unit_move_to_the_top_level(org):
    moved = services.unit_move(unit=org.township, new_parent=None)
    assert moved.depth == 1
    assert set(OrgUnit.objects.get_root_nodes().values_list("code", flat=True)) == {"CITY", "D1T1"}
    _assert_tree_consistent()


@pytest.mark.parametrize("target", ["district", "township"])
def test_unit_move_into_its_own_subtree_is_refused_and_changes_nothing(org, target):
    before = _tree()
    with pytest.raises(ValidationError) as excinfo:
        services.unit_move(unit=org.district, new_parent=getattr(org, target))
    assert _errors(excinfo) == {"parent": ["A unit cannot be moved inside its own subtree."]}
    assert _tree() == before


def test_unit_move_next_to_a_unit_of_the_same_name_is_refused(org):
    OrgUnitFactory(parent=org.other, code="X", name="东华门街道")
    before = _tree()
    with pytest.raises(ValidationError) as excinfo:
        services.unit_move(unit=org.township, new_parent=org.other)
    assert list(_errors(excinfo)) == ["parent"]
    assert _tree() == before


def test_unit_move_to_the_top_level_next_to_a_root_of_the_same_name_is_refused(org):
    OrgUnitFactory(parent=org.other, code="X", name="市")
    before = _tree()
    with pytest.raises(ValidationError) as excinfo:
        services.unit_move(unit=OrgUnit.objects.get(code="X"), new_parent=None)
    assert list(_errors(excinfo)) == ["parent"]
    assert _tree() == before


def test_unit_move_works_from_a_stale_instance(org):
    stale = OrgUnit.objects.get(pk=org.township.pk)
    services.unit_move(unit=org.district, new_parent=org.other)
    moved = services.unit_move(unit=stale, new_parent=org.city)
    assert moved.depth == 2
    _assert_tree_consistent()


def test_only_a_system_admin_actor_may_move_units(org):
    before = _tree()
    with pytest.raises(PermissionDenied):
        services.unit_move(unit=org.township, new_parent=org.other, actor=org.unit_admin)
    assert _tree() == before


# --- cadre_level_save ------------------------------------------------------------------


def test_cadre_level_save_creates_and_updates(org):
    level = services.cadre_level_save(code=" CJ ", name=" 处级 ", sort_order=1, actor=org.sysadmin)
    assert (level.code, level.name, level.sort_order) == ("CJ", "处级", 1)
    services.cadre_level_save(level=level, code="CJ", name="处级干部", sort_order=2)
    level.refresh_from_db()
    assert (level.name, level.sort_order) == ("处级干部", 2)
    assert CadreLevel.objects.count() == 1


@pytest.mark.parametrize(
    ("code", "name", "field"), [("KJ", "新", "code"), ("NEW", "科级", "name"), (" ", "新", "code"), ("NEW", " ", "name")]
)
def test_cadre_level_save_refuses_bad_input_and_changes_nothing(org, code, name, field):
    CadreLevelFactory(code="KJ", name="科级")
    edited = CadreLevelFactory(code="CJ", name="处级")
    before = list(CadreLevel.objects.values_list("pk", "code", "name"))
    for level in (None, edited):
        with pytest.raises(ValidationError) as excinfo:
            services.cadre_level_save(level=level, code=code, name=name)
        assert list(_errors(excinfo)) == [field]
    assert list(CadreLevel.objects.values_list("pk", "code", "name")) == before


def test_only_a_system_admin_actor_may_save_cadre_levels(org):
    with pytest.raises(PermissionDenied):
        services.cadre_level_save(code="CJ", name="处级", actor=org.unit_admin)
    assert not CadreLevel.objects.exists()


# --- role grants -----------------------------------------------------------------------


def test_role_grant_create_grants_once_and_refreshes_the_scope(org):
    person = UserFactory(unit=org.township)
    assert not selectors.can_manage_unit(person, org.township)  # caches the empty scope
    grant = services.role_grant_create(user=person, unit=org.township, role=Role.UNIT_ADMIN, granted_by=org.sysadmin)
    again = services.role_grant_create(user=person, unit=org.township, role=Role.UNIT_ADMIN, granted_by=org.sysadmin)
    assert grant.pk == again.pk
    assert RoleGrant.objects.filter(user=person).count() == 1
    assert grant.granted_by == org.sysadmin
    assert selectors.can_manage_unit(person, org.township)


@pytest.mark.parametrize(("role", "active", "field"), [("emperor", True, "role"), (Role.MANAGER, False, "user")])
def test_role_grant_create_refuses_unknown_roles_and_inactive_people(org, role, active, field):
    person = UserFactory(unit=org.township, is_active=active)
    with pytest.raises(ValidationError) as excinfo:
        services.role_grant_create(user=person, unit=org.township, role=role)
    assert list(_errors(excinfo)) == [field]
    assert not RoleGrant.objects.filter(user=person).exists()


def test_only_a_system_admin_may_grant_or_revoke(org):
    person = UserFactory(unit=org.township)
    with pytest.raises(PermissionDenied):
        services.role_grant_create(user=person, unit=org.township, role=Role.MANAGER, granted_by=org.unit_admin)
    assert not RoleGrant.objects.filter(user=person).exists()
    grant = RoleGrant.objects.get(user=org.unit_admin)
    with pytest.raises(PermissionDenied):
        services.role_grant_revoke(grant=grant, actor=org.unit_admin)
    assert RoleGrant.objects.filter(pk=grant.pk).exists()


def test_role_grant_revoke_removes_the_right_and_refreshes_the_scope(org):
    admin = org.unit_admin
    grant = RoleGrant.objects.select_related("user").get(user=admin)
    assert selectors.can_manage_unit(grant.user, org.township)
    services.role_grant_revoke(grant=grant, actor=org.sysadmin)
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    assert not selectors.can_manage_unit(grant.user, org.township)


# --- notifications ---------------------------------------------------------------------


def test_notification_send_fills_each_active_inbox(org):
    active = UserFactory(unit=org.township)
    gone = UserFactory(unit=org.township, is_active=False)
    notices = services.notification_send(recipients=[active, gone], title="通" * 250, body="正文", link="/x/")
    assert [n.recipient for n in notices] == [active]
    stored = Notification.objects.get(recipient=active)
    assert (len(stored.title), stored.body, stored.link, stored.read_at) == (200, "正文", "/x/", None)
    assert not Notification.objects.filter(recipient=gone).exists()


def test_no_email_is_sent_when_email_is_not_configured(org, settings, django_capture_on_commit_callbacks):
    settings.NOTIFY_BY_EMAIL = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.notification_send(recipients=[org.unit_admin], title="开会通知")
    assert callbacks == []
    assert mail.outbox == []


def test_notices_are_emailed_after_commit_to_people_with_an_address(org, settings, django_capture_on_commit_callbacks):
    settings.NOTIFY_BY_EMAIL = True
    no_address = UserFactory(unit=org.township, email="")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notification_send(recipients=[org.unit_admin, no_address], title="开会通知", body="下午三点")
    assert mail.outbox == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [(["admin@example.cn"], "开会通知", "下午三点")]
    assert Notification.objects.filter(recipient=no_address).exists()


def test_a_rolled_back_transaction_sends_nothing(org, settings, django_capture_on_commit_callbacks):
    settings.NOTIFY_BY_EMAIL = True
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.notification_send(recipients=[org.unit_admin], title="开会通知")
        raise RuntimeError("the action failed after the notice was queued")
    assert callbacks == []
    assert mail.outbox == []
    assert not Notification.objects.exists()


def test_notifications_mark_read_marks_only_the_users_own_unread_notices(org):
    me, other = UserFactory(unit=org.township), UserFactory(unit=org.township)
    mine = NotificationFactory.create_batch(3, recipient=me)
    theirs = NotificationFactory(recipient=other)
    assert services.notifications_mark_read(user=me, ids=[mine[0].pk, theirs.pk]) == 1
    assert selectors.unread_notification_count(me) == 2
    assert selectors.unread_notification_count(other) == 1
    assert services.notifications_mark_read(user=me) == 2
    assert services.notifications_mark_read(user=me) == 0
    assert selectors.unread_notification_count(me) == 0
    assert Notification.objects.get(pk=theirs.pk).read_at is None


# --- feedback (意见建议) -----------------------------------------------------------------


def test_feedback_goes_to_the_admins_of_the_authors_unit_and_its_ancestors(org, settings, django_capture_on_commit_callbacks):
    settings.NOTIFY_BY_EMAIL = True
    city_admin = UserFactory(unit=org.city, email="city@example.cn")
    RoleGrantFactory(user=city_admin, unit=org.city, role=Role.UNIT_ADMIN)
    sibling_admin = UserFactory(unit=org.other, email="west@example.cn")
    RoleGrantFactory(user=sibling_admin, unit=org.other, role=Role.UNIT_ADMIN)
    manager = UserFactory(unit=org.district, email="mgr@example.cn")
    RoleGrantFactory(user=manager, unit=org.district, role=Role.MANAGER)
    author = UserFactory(unit=org.township)
    with django_capture_on_commit_callbacks(execute=True):
        feedback = services.feedback_submit(author=author, kind="suggestion", subject=" 课程太少 ", body=" 希望增加 ")
    assert (feedback.unit, feedback.subject, feedback.body, feedback.status) == (
        org.township, "课程太少", "希望增加", Feedback.Status.OPEN,
    )
    notified = set(Notification.objects.filter(kind="feedback").values_list("recipient_id", flat=True))
    assert notified == {org.unit_admin.pk, city_admin.pk}
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@example.cn", "city@example.cn"]


@pytest.mark.parametrize(
    ("kind", "subject", "body", "field"),
    [
        ("praise", "主题", "内容", "kind"),
        ("suggestion", " ", "内容", "subject"),
        ("suggestion", "长" * 201, "内容", "subject"),
        ("suggestion", "主题", "", "body"),
        ("suggestion", "主题", "长" * 5001, "body"),
    ],
)
def test_feedback_submit_refuses_bad_input_and_writes_nothing(org, kind, subject, body, field):
    author = UserFactory(unit=org.township)
    with pytest.raises(ValidationError) as excinfo:
        services.feedback_submit(author=author, kind=kind, subject=subject, body=body)
    assert list(_errors(excinfo)) == [field]
    assert not Feedback.objects.exists()
    assert not Notification.objects.exists()


def test_someone_without_a_unit_has_no_admin_to_write_to(org):
    with pytest.raises(ValidationError) as excinfo:
        services.feedback_submit(author=UserFactory(unit=None), kind="question", subject="主题", body="内容")
    assert list(_errors(excinfo)) == ["author"]
    assert not Feedback.objects.exists()


def test_an_admin_of_the_unit_answers_feedback_and_the_author_is_told(org, settings, django_capture_on_commit_callbacks):
    settings.NOTIFY_BY_EMAIL = True
    author = UserFactory(unit=org.township, email="author@example.cn")
    feedback = FeedbackFactory(author=author)
    with django_capture_on_commit_callbacks(execute=True):
        answered = services.feedback_reply(feedback=feedback, actor=org.unit_admin, reply=" 已安排 ")
    assert (answered.status, answered.reply, answered.replied_by) == ("answered", "已安排", org.unit_admin)
    assert answered.replied_at is not None
    assert Notification.objects.filter(recipient=author, kind="feedback").count() == 1
    assert [m.to for m in mail.outbox] == [["author@example.cn"]]


@pytest.mark.parametrize("who", ["sibling_admin", "manager", "author"])
def test_only_an_admin_of_the_feedbacks_unit_may_answer(org, who):
    author = UserFactory(unit=org.township)
    feedback = FeedbackFactory(author=author)
    actor = {"author": author}.get(who) or UserFactory(unit=org.other)
    if who == "sibling_admin":
        RoleGrantFactory(user=actor, unit=org.other, role=Role.UNIT_ADMIN)
    elif who == "manager":
        RoleGrantFactory(user=actor, unit=org.district, role=Role.MANAGER)
    with pytest.raises(PermissionDenied):
        services.feedback_reply(feedback=feedback, actor=actor, reply="好的")
    feedback.refresh_from_db()
    assert (feedback.status, feedback.reply) == ("open", "")
    assert not Notification.objects.exists()


@pytest.mark.parametrize("reply", ["  ", "长" * 5001])
def test_an_empty_or_overlong_reply_is_refused_and_changes_nothing(org, reply):
    feedback = FeedbackFactory(author=UserFactory(unit=org.township))
    with pytest.raises(ValidationError) as excinfo:
        services.feedback_reply(feedback=feedback, actor=org.unit_admin, reply=reply)
    assert list(_errors(excinfo)) == ["reply"]
    feedback.refresh_from_db()
    assert (feedback.status, feedback.reply, feedback.replied_at) == ("open", "", None)


def test_moving_a_unit_under_its_current_parent_changes_nothing(org):
    before = _tree()
    services.unit_move(unit=org.township, new_parent=org.district)
    services.unit_move(unit=org.city, new_parent=None)
    assert _tree() == before
