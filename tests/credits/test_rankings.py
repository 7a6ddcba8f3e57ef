"""Rankings: ties share a rank, ranks follow each write, units by average and compliance,
visibility per organisation and name masking."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from credits import selectors, services
from credits.models import PeriodKind, PersonTotal, Requirement, UnitTotal
from credits.periods import Period, current_periods
from tests.credits.conftest import local
from tests.factories import OrgUnitFactory, RankingPolicyFactory, UserFactory

pytestmark = pytest.mark.django_db

Y2025 = Period(PeriodKind.YEAR, 2025)


def names(page) -> list[tuple[int | None, str]]:
    return [(row.rank, row.name) for row in page.rows]


def test_ties_share_a_rank_and_the_next_rank_skips(cast, award):
    city = cast.tree.city
    a, b, c, d = (UserFactory(unit=cast.tree.township_a1, name=n) for n in ("甲", "乙", "丙", "丁"))
    for person, points in ((a, "5"), (b, "3"), (c, "3"), (d, "1")):
        award(person, points, when=local(2025, 4, 1, 9))

    page = selectors.people_ranking(cast.system_admin, period=Y2025, scope=city)

    assert [(r.rank, r.name, r.total) for r in page.rows] == [
        (1, "甲", Decimal("5.00")), (2, "乙", Decimal("3.00")), (2, "丙", Decimal("3.00")),
        (4, "丁", Decimal("1.00")),
    ]
    assert selectors.person_rank(d, Y2025).rank_org == 4
    assert selectors.person_rank(c, Y2025).rank_unit == 2


def test_ranks_are_correct_after_each_write(cast, award):
    award(cast.learner, "2", when=local(2025, 4, 1, 9))
    award(cast.inside, "3", when=local(2025, 4, 1, 9))
    assert selectors.person_rank(cast.learner, Y2025).rank_org == 2

    award(cast.learner, "2", when=local(2025, 4, 2, 9))

    assert selectors.person_rank(cast.learner, Y2025).rank_org == 1
    assert selectors.person_rank(cast.inside, Y2025).rank_org == 2


def test_current_period_ranks_follow_each_write(cast, award):
    now = timezone.now()
    year = current_periods()[0]
    award(cast.learner, "1", when=now)
    award(cast.inside, "2", when=now)
    assert selectors.person_rank(cast.learner, year).rank_org == 2
    award(cast.learner, "5", when=now)
    info = selectors.person_rank(cast.learner, year)
    assert info.rank_org == 1 and info.rank_unit == 1
    top = selectors.people_ranking(cast.system_admin, period=year, scope=cast.tree.city)
    assert [r.name for r in top.rows][:2] == [cast.learner.name, cast.inside.name]


def test_someone_without_credits_ranks_after_everyone_with_credits(cast, award):
    award(cast.inside, "2", when=local(2025, 4, 1, 9))
    award(cast.outside, "1", when=local(2025, 4, 1, 9))
    info = selectors.person_rank(cast.learner, Y2025)
    assert info.rank_org == 3
    assert info.org_size == 10  # every active person of the organisation


def test_inactive_people_are_not_ranked(cast, award):
    award(cast.inside, "9", when=local(2025, 4, 1, 9))
    award(cast.learner, "1", when=local(2025, 4, 1, 9))
    cast.inside.is_active = False
    cast.inside.save()
    services.ranks_refresh(period_keys=["2025"])

    assert selectors.person_rank(cast.learner, Y2025).rank_org == 1
    page = selectors.people_ranking(cast.system_admin, period=Y2025, scope=cast.tree.city)
    assert [r.name for r in page.rows] == [cast.learner.name]


def test_a_person_who_moved_is_ranked_in_the_new_unit(cast, award):
    award(cast.learner, "4", when=local(2025, 4, 1, 9))
    cast.learner.unit = cast.tree.township_b1
    cast.learner.save()
    services.ranks_refresh(period_keys=["2025"])

    assert PersonTotal.objects.get(person=cast.learner, period="2025").unit == cast.tree.township_b1
    leaf = selectors.people_ranking(cast.system_admin, period=Y2025, scope=cast.tree.township_b1)
    assert [r.name for r in leaf.rows] == [cast.learner.name]


def test_a_subtree_is_ranked_on_its_own(cast, award):
    award(cast.outside, "9", when=local(2025, 4, 1, 9))
    award(cast.learner, "2", when=local(2025, 4, 1, 9))
    award(cast.inside, "1", when=local(2025, 4, 1, 9))

    page = selectors.people_ranking(cast.unit_admin, period=Y2025, scope=cast.tree.district_a)

    assert names(page) == [(1, cast.learner.name), (2, cast.inside.name)]
    assert (page.me.rank, page.me.total) == (3, Decimal("0.00"))  # the admin works in district A
    me = selectors.people_ranking(cast.learner, period=Y2025, scope=cast.tree.district_a).me
    assert (me.rank, me.total) == (1, Decimal("2.00"))


def test_units_are_ranked_by_average_per_member(cast, award):
    a1, b1 = cast.tree.township_a1, cast.tree.township_b1
    UserFactory(unit=a1)  # township A1 has two members: average 2
    award(cast.learner, "4", when=local(2025, 4, 1, 9))
    award(cast.outside, "3", when=local(2025, 4, 1, 9))  # township B1, one member: average 3

    page = selectors.units_ranking(cast.system_admin, period=Y2025, scope=cast.tree.city)

    rows = {r.name: (r.rank, r.total, r.extra["members"]) for r in page.rows}
    assert rows[b1.name] == (1, Decimal("3.00"), 1)
    assert rows[a1.name] == (2, Decimal("2.00"), 2)


def test_units_are_ranked_by_compliance_with_the_pro_rata_requirement(cast, award):
    Requirement.objects.create(cadre_level=None, year=2025, points=Decimal("4"))
    services.forget_rules()
    UserFactory(unit=cast.tree.township_a1)  # behind: no credits
    award(cast.learner, "4", when=local(2025, 4, 1, 9))  # on track (2025 is over: needs 4)
    award(cast.outside, "5", when=local(2025, 4, 1, 9))

    page = selectors.units_ranking(cast.system_admin, period=Y2025, scope=cast.tree.city, by="compliance")

    rows = {r.name: (r.rank, r.extra["compliance_percent"]) for r in page.rows}
    assert rows[cast.tree.township_b1.name] == (1, 100.0)
    assert rows[cast.tree.township_a1.name][1] == 50.0
    a1 = UnitTotal.objects.get(unit=cast.tree.township_a1, period="2025")
    assert (a1.member_count, a1.on_track_count, a1.behind_count) == (2, 1, 1)


def test_compliance_ranking_needs_a_year(cast):
    with pytest.raises(ValueError, match="annual"):
        selectors.units_ranking(
            cast.system_admin, period=Period(PeriodKind.QUARTER, 2025, 2), scope=cast.tree.city, by="compliance"
        )


# --- Visibility -----------------------------------------------------------------------------


@pytest.fixture
def crowd(cast, award):
    """Twelve ranked people in township A1 besides the learner, who ranks last with 1 point."""
    people = [UserFactory(unit=cast.tree.township_a1, name=f"王{i:02d}") for i in range(12)]
    for i, person in enumerate(people):
        award(person, str(20 - i), when=local(2025, 4, 1, 9))
    award(cast.learner, "1", when=local(2025, 4, 1, 9))
    return people


def test_default_visibility_is_top_ten_plus_own_rank(cast, crowd):
    page = selectors.people_ranking(cast.learner, period=Y2025, scope=cast.tree.city)
    assert page.visibility == "top_n"
    assert len(page.rows) == 10 and page.has_next is False
    assert page.me.rank == 13 and page.me.is_me
    second = selectors.people_ranking(cast.learner, period=Y2025, scope=cast.tree.city, page=2, page_size=5)
    assert [r.rank for r in second.rows] == [6, 7, 8, 9, 10] and second.has_next is False


def test_full_visibility_pages_through_everyone(cast, crowd):
    RankingPolicyFactory(root=cast.tree.city, visibility="full")
    first = selectors.people_ranking(cast.learner, period=Y2025, scope=cast.tree.city, page_size=5)
    assert first.has_next and first.count == 13
    last = selectors.people_ranking(cast.learner, period=Y2025, scope=cast.tree.city, page=3, page_size=5)
    assert [r.rank for r in last.rows] == [11, 12, 13] and last.rows[-1].is_me


def test_own_rank_only_shows_no_list(cast, crowd):
    RankingPolicyFactory(root=cast.tree.city, visibility="own")
    page = selectors.people_ranking(cast.learner, period=Y2025, scope=cast.tree.city)
    assert page.rows == [] and page.me.rank == 13


def test_rankings_off_show_nothing(cast, crowd):
    RankingPolicyFactory(root=cast.tree.city, visibility="off")
    page = selectors.people_ranking(cast.learner, period=Y2025, scope=cast.tree.city)
    assert page.rows == [] and page.me is None and page.message
    units = selectors.units_ranking(cast.learner, period=Y2025, scope=cast.tree.city)
    assert units.rows == [] and units.me is None


def test_masked_names_show_the_surname_only_except_ones_own(cast, crowd):
    RankingPolicyFactory(root=cast.tree.city, visibility="full", mask_names=True)
    page = selectors.people_ranking(cast.learner, period=Y2025, scope=cast.tree.city)
    assert page.rows[0].name == "王**"
    assert page.rows[-1].name == cast.learner.name


def test_admins_see_their_scope_in_full_whatever_the_policy(cast, crowd):
    RankingPolicyFactory(root=cast.tree.city, visibility="off", mask_names=True)
    page = selectors.people_ranking(cast.unit_admin, period=Y2025, scope=cast.tree.district_a)
    assert len(page.rows) == 13 and page.rows[0].name == "王00"


def test_mask_name_keeps_the_first_character():
    assert selectors.mask_name("张三") == "张*"
    assert selectors.mask_name("欧阳娜娜") == "欧***"
    assert selectors.mask_name("李") == "李"


def test_ranking_scopes_of_a_learner_are_their_own_subtrees(cast):
    scopes = {u.code for u in selectors.ranking_scopes(cast.learner)}
    assert scopes == {"C", "DA", "TA1"}
    admin_scopes = {u.code for u in selectors.ranking_scopes(cast.unit_admin)}
    assert admin_scopes == {"C", "DA", "TA1", "TA2"}


def test_a_second_organisation_is_ranked_apart(cast, award):
    other_root = OrgUnitFactory(code="X", name="另一个组织")
    stranger = UserFactory(unit=other_root)
    award(stranger, "50", when=local(2025, 4, 1, 9))
    award(cast.learner, "1", when=local(2025, 4, 1, 9))
    assert selectors.person_rank(cast.learner, Y2025).rank_org == 1
    assert selectors.person_rank(stranger, Y2025).rank_org == 1


def test_person_totals_for_reports_are_scoped(cast, award):
    award(cast.inside, "2", when=local(2025, 7, 1, 9))
    award(cast.outside, "3", when=local(2025, 7, 1, 9))
    rows = selectors.person_totals_visible_to(cast.manager, period_keys=["2025", "2025-07"])
    assert {(r.person_id, r.period, r.total) for r in rows} == {
        (cast.inside.pk, "2025", Decimal("2.00")), (cast.inside.pk, "2025-07", Decimal("2.00"))
    }
    assert selectors.person_totals_visible_to(cast.learner, period_keys=["2025"]).count() == 0


def test_a_unit_rank_counts_active_members_above_and_ties_share_it(cast, award):
    a1 = cast.tree.township_a1
    top, tied, gone = (UserFactory(unit=a1, name=n) for n in ("甲", "乙", "丙"))
    award(gone, "9", when=local(2025, 4, 1, 9))
    award(top, "5", when=local(2025, 4, 1, 9))
    award(tied, "3", when=local(2025, 4, 1, 9))
    award(cast.learner, "3", when=local(2025, 4, 1, 9))  # the learner works in township A1 too
    gone.is_active = False
    gone.save()
    services.ranks_refresh(period_keys=["2025"])

    info = selectors.person_rank(cast.learner, Y2025)
    assert info.rank_unit == 2  # only 甲 is above; 丙 left; 乙 ties
    assert selectors.person_rank(tied, Y2025).rank_unit == 2
    page = selectors.people_ranking(cast.system_admin, period=Y2025, scope=a1, page=2, page_size=1)
    assert names(page) == [(2, page.rows[0].name)]  # a page that opens inside the tie


def test_units_count_their_members_with_credits(cast, award):
    a1 = cast.tree.township_a1
    UserFactory(unit=a1)  # no credits
    award(cast.learner, "2", when=local(2025, 4, 1, 9))

    row = UnitTotal.objects.get(unit=a1, period="2025")
    assert (row.member_count, row.members_with_credits) == (2, 1)


def test_a_rebuild_ranks_a_person_who_moved_in_the_new_unit_without_drift(cast, award):
    award(cast.learner, "4", when=local(2025, 4, 1, 9))
    cast.learner.unit = cast.tree.township_b1
    cast.learner.save()

    report = services.totals_rebuild(year=2025)

    assert report.drift == 0  # moving is not drift: the ledger and the sums still agree
    rows = PersonTotal.objects.filter(person=cast.learner, period__startswith="2025")
    assert {(r.unit_id, r.rank_total == r.total) for r in rows} == {(cast.tree.township_b1.pk, True)}
    leaf = selectors.people_ranking(cast.system_admin, period=Y2025, scope=cast.tree.township_b1)
    assert [r.name for r in leaf.rows] == [cast.learner.name]
    assert selectors.person_rank(cast.learner, Y2025).rank_unit == 1


def test_a_page_that_opens_inside_a_tie_takes_the_ties_rank(cast, award):
    """The organisation's and a unit's page (one indexed read each) rank a tie that began on
    the page before with the tie's first rank, and leave inactive people out."""
    RankingPolicyFactory(root=cast.tree.city, visibility="full")
    unit = cast.tree.township_a1
    people = [UserFactory(unit=unit, name=n) for n in ("甲", "乙", "丙", "丁", "戊")]
    for person, points in zip(people, ("9", "4", "4", "4", "1"), strict=True):
        award(person, points, when=local(2025, 4, 1, 9))
    gone = UserFactory(unit=unit, name="己")
    award(gone, "6", when=local(2025, 4, 1, 9))
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    services.ranks_refresh(period_keys=["2025"])

    for scope in (cast.tree.city, unit):
        second = selectors.people_ranking(cast.system_admin, period=Y2025, scope=scope, page=2, page_size=2)
        assert [(r.rank, r.name) for r in second.rows] == [(2, "丙"), (2, "丁")], scope
        assert "己" not in [r.name for r in second.rows]
        third = selectors.people_ranking(cast.system_admin, period=Y2025, scope=scope, page=3, page_size=2)
        assert [(r.rank, r.name) for r in third.rows] == [(5, "戊")], scope


def test_the_prepared_page_read_is_seen_by_query_counting(cast, award):
    """The page read runs on a cursor of its own on PostgreSQL: it must still be logged, or
    the API's query-count assertions would miss it."""
    from django.test.utils import CaptureQueriesContext

    from credits import totals

    award(cast.learner, "2", when=local(2025, 4, 1, 9))
    services.ranks_refresh(period_keys=["2025"])
    with CaptureQueriesContext(connection) as ctx:
        rows = totals.ranking_page(period_key="2025", scope="o", scope_id=cast.tree.city.pk, start=0, stop=50)
    assert [r[0] for r in rows] == [cast.learner.pk]
    assert any("ORDER BY t.rank_total DESC" in q["sql"] for q in ctx.captured_queries)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side prepared statements")
def test_the_award_and_the_page_read_are_prepared_on_postgresql(cast, award):
    """Django turns psycopg's statement preparation off unless the settings set a
    threshold; without it the award's three chained CTEs are planned on every call.
    (Awards here leave their on-commit rank refresh unrun: the refresh drops temporary
    tables, and psycopg forgets its prepared statements after a DROP.)"""
    from credits import totals

    award(cast.learner, "1", when=local(2025, 3, 1, 9))
    services.ranks_refresh(period_keys=["2025"])
    for _ in range(8):
        totals.ranking_page(period_key="2025", scope="o", scope_id=cast.tree.city.pk, start=0, stop=50)
    for n in range(3):
        services.credit_award(
            person=cast.learner, source_kind="course", source_ref="courses.course:1", points=Decimal("1"),
            idempotency_key=f"prepared:{n}", occurred_at=local(2025, 4, 1 + n, 9),
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any(text.startswith("WITH ins AS") for text in prepared), prepared
    assert any("ORDER BY t.rank_total DESC" in text for text in prepared), prepared
    assert PersonTotal.objects.get(person=cast.learner, period="2025").total == Decimal("4.00")
