"""The permission matrix: role × inside/outside the grant's subtree × every org endpoint and page.

The tree (tests.factories.OrgTree): city → district A (townships A1, A2) and district B
(township B1). Every grant under test is on district A. "inside" objects live in township
A2 (inside district A, but not the actor's own unit); "outside" objects live in township B1.
The learner works in township A1 and holds no grant.

Rules: anything outside a caller's scope is 404 on detail and absent from lists; learners
see only themselves; feedback is for unit admins (managers and class teachers cannot see or
answer other people's feedback); a notification inbox is private to its owner.
"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from org.models import CadreLevel, Feedback, Notification, Role, User
from tests.factories import (
    FeedbackFactory,
    NotificationFactory,
    OrgTree,
    RoleGrantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROLES = ["learner", "unit_admin", "manager", "class_teacher", "system_admin"]
PLACES = ["inside", "outside"]

# Which places each role may see (people, units) and administer (feedback).
SEES_ORG = {
    "learner": set(),
    "unit_admin": {"inside"},
    "manager": {"inside"},
    "class_teacher": {"inside"},
    "system_admin": {"inside", "outside"},
}
SEES_FEEDBACK = {
    "learner": set(),
    "unit_admin": {"inside"},
    "manager": set(),
    "class_teacher": set(),
    "system_admin": {"inside", "outside"},
}


class World:
    """The tree, one actor, and one person / unit / feedback / notice at each place."""

    def __init__(self, role: str) -> None:
        self.tree = OrgTree()
        tree = self.tree
        if role == "learner":
            self.actor = UserFactory(unit=tree.township_a1, employee_no="ACTOR")
        elif role == "system_admin":
            self.actor = UserFactory(unit=tree.city, employee_no="ACTOR", is_superuser=True)
        else:
            self.actor = UserFactory(unit=tree.district_a, employee_no="ACTOR")
            RoleGrantFactory(user=self.actor, unit=tree.district_a, role=Role(role))
        self.unit = {"inside": tree.township_a2, "outside": tree.township_b1}
        self.person = {"inside": tree.people["TA2"], "outside": tree.people["TB1"]}
        self.feedback = {
            place: FeedbackFactory(author=person, subject=f"feedback-{place}")
            for place, person in self.person.items()
        }
        self.notice = {
            place: NotificationFactory(recipient=person, title=f"notice-{place}")
            for place, person in self.person.items()
        }

    def api(self) -> APIClient:
        client = APIClient()
        client.force_login(self.actor)
        return client

    def web(self) -> Client:
        client = Client()
        client.force_login(self.actor)
        return client


@pytest.fixture(params=ROLES)
def role(request) -> str:
    return request.param


@pytest.fixture(params=PLACES)
def place(request) -> str:
    return request.param


@pytest.fixture
def world(role) -> World:
    return World(role)


def _api_ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- Detail endpoints and pages: 200 inside the scope, 404 outside ----------------------------

DETAILS = {
    "api unit": ("org", lambda w, p: f"/api/v1/org/units/{w.unit[p].pk}/", "api"),
    "api person": ("org", lambda w, p: f"/api/v1/org/people/{w.person[p].pk}/", "api"),
    "api feedback": ("feedback", lambda w, p: f"/api/v1/feedback/{w.feedback[p].pk}/", "api"),
    "page person": ("org", lambda w, p: f"/org/people/{w.person[p].pk}/", "web"),
    "page feedback": ("feedback", lambda w, p: f"/feedback/{w.feedback[p].pk}/", "web"),
    "page people of unit": ("org", lambda w, p: f"/org/people/?unit={w.unit[p].pk}", "web"),
}


@pytest.mark.parametrize("endpoint", list(DETAILS))
def test_detail_is_200_inside_the_scope_and_404_outside(world, role, place, endpoint):
    kind, url, via = DETAILS[endpoint]
    visible = place in (SEES_ORG if kind == "org" else SEES_FEEDBACK)[role]

    response = getattr(world, via)().get(url(world, place))

    assert response.status_code == (200 if visible else 404)
    if via == "api" and not visible:
        assert response.json()["detail"]


# --- Lists: an object is listed exactly when it is in scope -------------------------------------


def _listed_api_units(w: World, place: str) -> bool:
    return w.unit[place].pk in _api_ids(w.api().get("/api/v1/org/units/"))


def _listed_api_people(w: World, place: str) -> bool:
    return w.person[place].pk in _api_ids(w.api().get("/api/v1/org/people/"))


def _listed_api_feedback(w: World, place: str) -> bool:
    return w.feedback[place].pk in _api_ids(w.api().get("/api/v1/feedback/"))


def _listed_page(url: str, needle):
    def check(w: World, place: str) -> bool:
        response = w.web().get(url)
        assert response.status_code == 200
        return needle(w, place) in response.content.decode()

    return check


LISTS = {
    "api units": ("org", _listed_api_units),
    "api people": ("org", _listed_api_people),
    "api feedback": ("feedback", _listed_api_feedback),
    "page units": (
        "org",
        _listed_page("/org/units/", lambda w, p: f"<code>{w.unit[p].code}</code>"),
    ),
    "page people": (
        "org",
        _listed_page("/org/people/", lambda w, p: f"<code>{w.person[p].employee_no}</code>"),
    ),
    "page feedback": ("feedback", _listed_page("/feedback/", lambda w, p: f"feedback-{p}")),
}


@pytest.mark.parametrize("endpoint", list(LISTS))
def test_lists_show_an_object_only_inside_the_scope(world, role, place, endpoint):
    kind, listed = LISTS[endpoint]
    visible = place in (SEES_ORG if kind == "org" else SEES_FEEDBACK)[role]
    assert listed(world, place) is visible


def test_a_search_never_finds_anyone_outside_the_scope(world, role, place):
    target = world.person[place]
    visible = place in SEES_ORG[role]
    found_api = _api_ids(world.api().get("/api/v1/org/people/", {"search": target.employee_no}))
    page = world.web().get("/org/people/", {"q": target.employee_no}).content.decode()
    assert (target.pk in found_api) is visible
    assert (f"<code>{target.employee_no}</code>" in page) is visible


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/v1/org/units/", "within"),
        ("/api/v1/org/units/", "parent"),
        ("/api/v1/org/people/", "unit"),
        ("/api/v1/feedback/", "unit"),
    ],
)
def test_api_filters_naming_a_unit_outside_the_scope_are_refused(world, role, place, url, param):
    response = world.api().get(url, {param: world.unit[place].pk})
    if place in SEES_ORG[role]:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert "results" not in response.json()


# --- Learners see only themselves ------------------------------------------------------------


def test_a_learner_sees_only_themselves_and_their_own_unit():
    world = World("learner")
    colleague = UserFactory(unit=world.actor.unit)
    api, web = world.api(), world.web()

    assert _api_ids(api.get("/api/v1/org/people/")) == {world.actor.pk}
    assert _api_ids(api.get("/api/v1/org/units/")) == {world.actor.unit_id}
    assert api.get(f"/api/v1/org/people/{colleague.pk}/").status_code == 404
    assert web.get(f"/org/people/{colleague.pk}/").status_code == 404
    assert web.get(f"/org/people/{world.actor.pk}/").status_code == 200
    assert colleague.employee_no not in web.get("/org/people/").content.decode()


def test_the_learner_sees_their_own_feedback_but_cannot_answer_it():
    world = World("learner")
    mine = FeedbackFactory(author=world.actor)
    assert _api_ids(world.api().get("/api/v1/feedback/")) == {mine.pk}
    response = world.api().post(f"/api/v1/feedback/{mine.pk}/reply/", {"reply": "x"}, format="json")
    assert response.status_code == 403
    assert world.web().post(f"/feedback/{mine.pk}/", {"reply": "x"}).status_code == 403
    mine.refresh_from_db()
    assert mine.status == Feedback.Status.OPEN


# --- Answering feedback: unit admins of the sender's unit only --------------------------------


@pytest.mark.parametrize("via", ["api", "page"])
def test_only_admins_of_the_senders_unit_can_answer_feedback(world, role, place, via):
    feedback = world.feedback[place]
    can_answer = place in SEES_FEEDBACK[role]

    if via == "api":
        response = world.api().post(
            f"/api/v1/feedback/{feedback.pk}/reply/", {"reply": "收到"}, format="json"
        )
        assert response.status_code == (200 if can_answer else 404)
    else:
        response = world.web().post(f"/feedback/{feedback.pk}/", {"reply": "收到"})
        assert response.status_code == (302 if can_answer else 404)

    feedback.refresh_from_db()
    assert (feedback.status == Feedback.Status.ANSWERED) is can_answer


@pytest.mark.parametrize("role_name", ["manager", "class_teacher"])
def test_managers_and_class_teachers_cannot_answer_even_their_own_feedback(role_name):
    world = World(role_name)
    mine = FeedbackFactory(author=world.actor)
    response = world.api().post(f"/api/v1/feedback/{mine.pk}/reply/", {"reply": "x"}, format="json")
    assert response.status_code == 403
    mine.refresh_from_db()
    assert mine.status == Feedback.Status.OPEN


# --- Inboxes are private --------------------------------------------------------------------------


def test_nobody_reads_or_marks_another_persons_notifications(world, role, place):
    notice = world.notice[place]
    api = world.api()

    assert api.get(f"/api/v1/notifications/{notice.pk}/").status_code == 404
    assert notice.pk not in _api_ids(api.get("/api/v1/notifications/"))
    assert notice.title not in world.web().get("/notifications/").content.decode()
    marked = api.post("/api/v1/notifications/read/", {"ids": [notice.pk]}, format="json")
    assert marked.json()["marked"] == 0
    world.web().post("/notifications/read/", {"id": notice.pk})
    api.post("/api/v1/notifications/read/", {}, format="json")

    assert Notification.objects.get(pk=notice.pk).read_at is None


# --- /me tells each role what it holds ---------------------------------------------------------


def test_me_reports_the_roles_of_each_kind_of_user(world, role):
    body = world.api().get("/api/v1/me/").json()
    assert body["is_system_admin"] is (role == "system_admin")
    expected = [] if role in ("learner", "system_admin") else [(role, "DA")]
    assert [(r["role"], r["unit"]["code"]) for r in body["roles"]] == expected


def test_inactive_people_lose_access_to_everything():
    world = World("unit_admin")
    User.objects.filter(pk=world.actor.pk).update(is_active=False)
    assert world.api().get("/api/v1/org/people/").status_code in (401, 403)
    assert world.web().get("/org/people/").status_code == 302


# --- Cadre levels: read by all, written by system admins -----------------------------------------


def test_everyone_reads_cadre_levels_and_only_system_admins_write_them(world, role):
    api = world.api()
    assert api.get("/api/v1/org/cadre-levels/").status_code == 200
    response = api.post("/api/v1/org/cadre-levels/", {"code": "KJ", "name": "科级"}, format="json")
    assert response.status_code == (201 if role == "system_admin" else 403)
    assert CadreLevel.objects.filter(code="KJ").exists() is (role == "system_admin")
