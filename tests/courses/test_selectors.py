"""Scoped reads: visibility, the catalog and its filters, my courses, pushes, colleagues,
learners of a course, and the dynamic management figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from courses import memo, selectors, services
from courses.models import (
    Course,
    CourseDailyStat,
    CourseEvent,
    CoursePush,
    Enrolment,
    Rating,
    Recommendation,
    Tag,
)
from credits.rules import forget_rules
from tests.courses.factories import CategoryFactory, make_course, require

pytestmark = pytest.mark.django_db


def titles(page) -> list[str]:
    return [row.title for row in page.rows]


def catalog(user, **filters):
    return selectors.catalog_page(user, selectors.CatalogFilters(**filters))


# --- Visibility -------------------------------------------------------------------------------------


def test_a_course_of_a_unit_is_seen_by_its_subtree_and_its_viewers_only(world):
    visible = {
        name: selectors.courses_visible_to(getattr(world, name)).filter(pk=world.course.pk).exists()
        for name in ["learner", "chief", "unit_admin", "manager", "class_teacher", "sysadmin",
                     "outsider", "admin_b", "manager_b", "teacher_b"]
    }
    assert visible == {
        "learner": True, "chief": True, "unit_admin": True, "manager": True, "class_teacher": True,
        "sysadmin": True, "outsider": False, "admin_b": False, "manager_b": False, "teacher_b": False,
    }


def test_an_organisation_wide_course_is_seen_by_everyone(world):
    course = make_course(owner_unit=None)
    assert selectors.courses_visible_to(world.outsider).filter(pk=course.pk).exists()


def test_drafts_are_seen_by_admins_in_scope_not_by_learners(world):
    draft = make_course(owner_unit=world.district_a, status=Course.Status.DRAFT)
    assert not selectors.courses_visible_to(world.learner).filter(pk=draft.pk).exists()
    assert selectors.courses_visible_to(world.unit_admin).filter(pk=draft.pk).exists()
    assert selectors.courses_visible_to(world.manager).filter(pk=draft.pk).exists()


def test_only_admins_of_the_owner_subtree_manage_a_course(world):
    assert selectors.can_manage_course(world.unit_admin, world.course)
    assert selectors.can_manage_course(world.sysadmin, world.course)
    for name in ["manager", "class_teacher", "learner", "admin_b"]:
        assert not selectors.can_manage_course(getattr(world, name), world.course)
    city_wide = make_course(owner_unit=None)
    assert not selectors.can_manage_course(world.unit_admin, city_wide)


# --- Catalog -------------------------------------------------------------------------------------------


def test_search_finds_words_in_title_speaker_and_tags(world):
    course = make_course(owner_unit=None, title="环境保护与可持续发展", speaker="杜鹏飞",
                         search_text="环境保护与可持续发展 杜鹏飞 清华大学公开课")
    assert titles(catalog(world.learner, q="杜鹏飞")) == [course.title]
    assert titles(catalog(world.learner, q="清华 环境")) == [course.title]
    assert titles(catalog(world.learner, q="不存在的课")) == []


def test_filters_by_category_tag_source_length_and_rating(world):
    party = CategoryFactory(name="党性教育")
    tagged = make_course(owner_unit=None, category=party, source=Course.Source.OPEN_COURSE, length_minutes=10,
                         rating_avg=Decimal("4.60"), rating_count=8)
    tagged.tags.add(Tag.objects.create(name="乡村振兴"))
    assert titles(catalog(world.learner, category=party.pk)) == [tagged.title]
    assert titles(catalog(world.learner, tag="乡村振兴")) == [tagged.title]
    assert titles(catalog(world.learner, source=Course.Source.OPEN_COURSE)) == [tagged.title]
    assert titles(catalog(world.learner, max_minutes=15)) == [tagged.title]
    assert titles(catalog(world.learner, min_rating=Decimal("4.5"))) == [tagged.title]


def test_required_and_elective_filters_follow_the_persons_level_and_unit(world):
    deadline = timezone.localdate() + dt.timedelta(days=20)
    required = make_course(owner_unit=None, title="必修课")
    require(required, unit=world.district_a, cadre_level=world.ke, deadline=deadline)
    page = catalog(world.learner, required="required")
    assert titles(page) == ["必修课"] and page.rows[0].deadline == deadline
    assert "必修课" not in titles(catalog(world.learner, required="elective"))
    assert "必修课" in titles(catalog(world.chief, required="elective"))  # 处级: elective
    assert "必修课" in titles(catalog(world.outsider, required="elective"))  # another district


def test_the_earliest_deadline_of_several_rules_applies(world):
    soon, later = timezone.localdate() + dt.timedelta(days=5), timezone.localdate() + dt.timedelta(days=50)
    require(world.course, cadre_level=world.ke, deadline=later)
    require(world.course, unit=world.section_a1, deadline=soon)
    require(world.course, unit=world.district_a)
    assert selectors.required_deadlines(world.learner)[world.course.pk] == soon


def test_offline_courses_are_not_in_the_catalog(world):
    make_course(owner_unit=None, title="下线课", status=Course.Status.OFFLINE)
    assert "下线课" not in titles(catalog(world.sysadmin))


def test_the_catalog_shows_the_persons_own_progress(world):
    Enrolment.objects.create(person=world.learner, course=world.course, progress_percent=40)
    row = catalog(world.learner).rows[0]
    assert (row.progress, row.completed) == (40, False)
    assert catalog(world.colleague).rows[0].progress is None


def test_catalog_points_come_from_the_course_or_the_credit_rules(world):
    make_course(owner_unit=None, title="短课", length_minutes=10)
    make_course(owner_unit=None, title="自定学分", length_minutes=10, points=Decimal("3"))
    rows = {r.title: r.points for r in catalog(world.learner).rows}
    assert rows["短课"] == Decimal("0.25") and rows["自定学分"] == Decimal("3")


def test_a_cached_catalog_page_is_dropped_when_a_course_changes(world, django_capture_on_commit_callbacks):
    assert len(catalog(world.learner).rows) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.course_create(actor=world.sysadmin, data=services.CourseInput(
            title="新课", source="in_house", length_minutes=20))
        draft = Course.objects.get(title="新课")
        services.lesson_add(actor=world.sysadmin, course=draft, title="一", kind="external", duration_seconds=60,
                            external_url="https://v.cn/1.mp4")
        services.courses_set_status(actor=world.sysadmin, courses=[draft], action="online")
    assert "新课" in titles(catalog(world.learner))


def test_catalog_page_costs_the_same_queries_for_3_or_15_courses(world, django_assert_max_num_queries):
    party = CategoryFactory(name="知识型")

    def build(n):
        for i in range(n):
            c = make_course(owner_unit=None, category=party, title=f"课程{n}-{i}")
            c.tags.add(Tag.objects.get_or_create(name=f"标签{i % 3}")[0])
            require(c, cadre_level=world.ke)
            Enrolment.objects.create(person=world.learner, course=c, progress_percent=10)
        cache.clear()
        forget_rules()
        memo.clear()  # cold: nothing cached (the factories bypass the services)

    build(3)
    with CaptureQueriesContext(connection) as small:
        catalog(world.learner)
    build(12)
    with django_assert_max_num_queries(len(small)):
        page = catalog(world.learner)
    assert len(page.rows) == 16 and all(row.is_required and row.progress == 10 for row in page.rows[:15])


def test_a_cached_catalog_page_costs_two_queries(world, django_assert_max_num_queries):
    """Required marks and own progress; the rows are shared with colleagues who see the same."""
    from org.selectors import scope_for

    catalog(world.learner)
    scope_for(world.chief)  # once per request anyway (the page chrome needs it too)
    selectors.unit_path(world.chief.unit_id)
    with django_assert_max_num_queries(2):
        page = catalog(world.chief)  # another level: the same rows, other required marks
    assert page.rows[0].progress is None


# --- My courses and the home panel --------------------------------------------------------------------


def test_my_courses_lists_required_with_deadlines_in_progress_completed_and_recommendations(world):
    deadline = timezone.localdate() - dt.timedelta(days=1)
    required = make_course(owner_unit=world.district_a, title="必修未学")
    require(required, cadre_level=world.ke, deadline=deadline)
    done = make_course(owner_unit=world.district_a, title="已学完")
    Enrolment.objects.create(person=world.learner, course=done, completed_at=timezone.now(), progress_percent=100)
    Enrolment.objects.create(person=world.learner, course=world.course, progress_percent=50)
    Recommendation.objects.create(course=done, sender=world.colleague, recipient=world.learner, note="值得一看")
    mine = selectors.my_courses(world.learner)
    assert [e.course.title for e in mine.in_progress] == [world.course.title]
    assert [e.course.title for e in mine.completed] == ["已学完"]
    assert [(r["course"].title, r["overdue"]) for r in mine.required] == [("必修未学", True)]
    assert [r.note for r in mine.recommendations] == ["值得一看"]


def test_pushes_show_to_their_audience_until_the_date(world):
    push = CoursePush.objects.create(course=world.course, show_until=timezone.localdate(), status="sent")
    push.units.set([world.section_a1])
    push.cadre_levels.set([world.ke])
    assert list(selectors.pushes_for(world.learner)) == [push]
    assert list(selectors.pushes_for(world.chief)) == []  # 处级 not targeted
    assert list(selectors.pushes_for(world.outsider)) == []
    assert list(selectors.pushes_for(world.learner, today=timezone.localdate() + dt.timedelta(days=1))) == []


def test_colleagues_are_the_own_unit_or_the_view_scope(world):
    assert set(selectors.colleagues_for(world.learner)) == {world.colleague, world.chief}
    admin_colleagues = set(selectors.colleagues_for(world.unit_admin))
    assert world.learner in admin_colleagues and world.outsider not in admin_colleagues
    assert [p.name for p in selectors.search_colleagues(world.learner, "王")] == ["王蕾"]


def test_learners_of_a_course_are_those_in_scope_who_study_it_or_must(world):
    require(world.course, cadre_level=world.chu)
    Enrolment.objects.create(person=world.learner, course=world.course, progress_percent=50)
    Enrolment.objects.create(person=world.outsider, course=world.course, progress_percent=10)
    rows = {p.name: (p.enrolled, p.required, p.progress) for p in selectors.course_learners(world.class_teacher, world.course)}
    assert rows == {"余旭": (True, False, 50), "刘春": (False, True, None)}


# --- Dynamic management ------------------------------------------------------------------------------------


@pytest.fixture
def period():
    today = timezone.localdate()
    return selectors.Period(start=today - dt.timedelta(days=29), end=today)


def test_ranking_by_clicks_completions_and_rating_in_the_period(world, period):
    popular = make_course(owner_unit=world.district_a, title="热门", rating_avg=Decimal("4.8"), rating_count=10)
    CourseDailyStat.objects.create(course=popular, day=period.end, cadre_level_key=world.ke.pk, clicks=50)
    CourseDailyStat.objects.create(course=popular, day=period.start - dt.timedelta(days=1), clicks=999)  # before
    CourseDailyStat.objects.create(course=world.course, day=period.end, clicks=5)
    Enrolment.objects.create(person=world.learner, course=world.course, completed_at=timezone.now())
    by_clicks = list(selectors.course_ranking(world.unit_admin, period, order="clicks"))
    assert [(c.title, c.period_clicks) for c in by_clicks] == [("热门", 50), (world.course.title, 5)]
    by_completions = list(selectors.course_ranking(world.unit_admin, period, order="completions"))
    assert by_completions[0].pk == world.course.pk and by_completions[0].period_completions == 1
    assert selectors.course_ranking(world.unit_admin, period, order="rating").first().title == "热门"
    assert list(selectors.course_ranking(world.admin_b, period)) == []


def test_ranking_costs_one_query_for_3_or_15_courses(world, period, django_assert_max_num_queries):
    for n in (3, 12):
        for i in range(n):
            c = make_course(owner_unit=world.district_a, lessons=1)
            CourseDailyStat.objects.create(course=c, day=period.end, clicks=i)
        with django_assert_max_num_queries(2):
            rows = list(selectors.course_ranking(world.unit_admin, period))
    assert len(rows) == 16


def test_old_rarely_opened_poorly_rated_courses_are_offline_candidates(world, period, settings):
    old = timezone.now() - dt.timedelta(days=settings.COURSES_STALE_DAYS + 30)
    stale = make_course(owner_unit=world.district_a, title="陈旧低分", first_online_at=old,
                        rating_avg=Decimal("2.1"), rating_count=9)
    for i in range(6):
        c = make_course(owner_unit=world.district_a, lessons=1, title=f"正常{i}")
        CourseDailyStat.objects.create(course=c, day=period.end, clicks=100 + i)
    candidates = selectors.offline_candidates(world.unit_admin, period)
    assert [c.course.title for c in candidates] == [stale.title]
    assert len(candidates[0].reasons) == 3


def test_well_rated_but_rarely_opened_courses_are_promote_candidates(world, period):
    gem = make_course(owner_unit=world.district_a, title="好课少人看", rating_avg=Decimal("4.9"), rating_count=12)
    for i in range(4):
        c = make_course(owner_unit=world.district_a, lessons=1, title=f"热门{i}", rating_avg=Decimal("4.9"), rating_count=12)
        CourseDailyStat.objects.create(course=c, day=period.end, clicks=500 + i)
    assert [c.course.title for c in selectors.promote_candidates(world.unit_admin, period)][:1] == [gem.title]


def test_lifecycle_counts_added_and_taken_offline_per_month(world, period):
    now = timezone.now()
    CourseEvent.objects.create(course=world.course, action="online", first_time=True, at=now)
    CourseEvent.objects.create(course=world.course, action="offline", at=now)
    CourseEvent.objects.create(course=world.course, action="online", first_time=False, at=now)  # back online
    other = make_course(owner_unit=world.district_b)
    CourseEvent.objects.create(course=other, action="online", first_time=True, at=now)  # out of scope
    rows = selectors.lifecycle_counts(world.unit_admin, period)
    assert [(r["added"], r["offline"]) for r in rows] == [(1, 1)]
    assert rows[0]["month"] == timezone.localdate().replace(day=1)


def test_level_demand_shows_what_each_level_opens_and_rates(world, period):
    CourseDailyStat.objects.create(course=world.course, day=period.end, cadre_level_key=world.ke.pk, clicks=30)
    CourseDailyStat.objects.create(course=world.course, day=period.end, cadre_level_key=world.chu.pk, clicks=3)
    Enrolment.objects.create(person=world.learner, course=world.course, cadre_level=world.ke)
    Rating.objects.create(course=world.course, person=world.learner, stars=5, cadre_level=world.ke)
    Rating.objects.create(course=world.course, person=world.chief, stars=2, cadre_level=world.chu)
    rows = {r["cadre_level"]: r for r in selectors.level_demand(world.unit_admin, period)}
    assert rows["科级"]["clicks"] == 30 and rows["科级"]["ratings"] == 1 and rows["科级"]["rating_avg"] == Decimal("5")
    assert rows["处级"]["rating_avg"] == Decimal("2")
    assert rows["科级"]["top_courses"][0]["title"] == world.course.title


def test_organisation_wide_courses_are_analysed_by_city_level_grants_only(world, period):
    from org.models import Role
    from tests.courses.factories import RoleGrantFactory, UserFactory

    city_wide = make_course(owner_unit=None, title="全市课程")
    city_manager = UserFactory(unit=world.city)
    RoleGrantFactory(user=city_manager, unit=world.city, role=Role.MANAGER)
    assert city_wide in selectors.courses_analysed_by(city_manager)
    assert world.course in selectors.courses_analysed_by(city_manager)
    assert city_wide not in selectors.courses_analysed_by(world.manager)  # a district grant
