"""Credits: the append-only ledger, the rules that price causes, and derived totals.

The ledger (`CreditEntry`) is the truth. Everything else here is either configuration
(`CreditPolicy`, `SourceRule`, `AwardRule`, `Requirement`, `RankingPolicy`) or derived
from the ledger and rebuildable from it at any time (`PersonTotal`, `UnitTotal`,
`RankBoard`). Only `credits.services` writes any of these rows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Points of one entry: at most ±999,999.99; totals get two more digits of headroom.
POINTS_MAX_DIGITS = 8
TOTAL_MAX_DIGITS = 12
POINTS_PLACES = 2


class SourceKind(models.TextChoices):
    """Where a credit comes from. Never time online, likes or shares (DESIGN.md §5)."""

    COURSE = "course", _("online course")
    ATTENDANCE = "attendance", _("class attendance")
    LECTURE = "lecture", _("lecture given")
    EXAM = "exam", _("exam passed")
    AWARD = "award", _("award")
    ADJUSTMENT = "adjustment", _("manual adjustment")


# Column of PersonTotal holding the raw (uncapped) sum of each source.
SOURCE_COLUMNS: dict[str, str] = {kind: f"src_{kind}" for kind in SourceKind.values}


class PeriodKind(models.TextChoices):
    YEAR = "Y", _("year")
    QUARTER = "Q", _("quarter")
    MONTH = "M", _("month")


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove a ledger entry."""


class CreditEntryQuerySet(models.QuerySet):
    """Ledger rows can be read in bulk, never changed or removed in bulk."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Credit entries are append-only: record a reversal instead.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Credit entries are append-only: record a reversal instead.")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise AppendOnlyError("Credit entries are append-only: record a reversal instead.")

    def for_person(self, person_id: int) -> CreditEntryQuerySet:
        return self.filter(person_id=person_id)


class CreditEntry(models.Model):
    """One credit (or debit) in a person's ledger, with its cause.

    Rows are only ever inserted, by `credits.services.credit_award`. A correction is a
    new row whose `reverses` points at the entry it cancels, with the opposite points,
    in the same period and unit as the original so that every total nets out. The
    `idempotency_key` is derived from the cause (e.g. ``attendance:12:345``): recording the
    same cause again finds the existing row instead of crediting twice. `unit` is the
    person's unit when the entry was recorded (unit totals are attributed by it);
    `label` is the human cause ("课程：《…》") and `source_ref` the machine one.
    """

    # Every index costs every award: person lookups use the (person, occurred_at) index
    # below and `reverses` its unique constraint, so those foreign keys add none; unit
    # and recorder are only looked up when a unit or a person is deleted (refused anyway).
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="credit_entries",
        db_index=False,
    )
    unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        db_index=False,
        help_text=_("The person's unit when the entry was recorded."),
    )
    source_kind = models.CharField(_("source"), max_length=20, choices=SourceKind.choices)
    source_ref = models.CharField(
        _("source reference"),
        max_length=100,
        blank=True,
        help_text=_("Machine reference of the cause, e.g. lectures.session:12."),
    )
    label = models.CharField(_("cause"), max_length=200, blank=True)
    points = models.DecimalField(
        _("points"), max_digits=POINTS_MAX_DIGITS, decimal_places=POINTS_PLACES
    )
    occurred_at = models.DateTimeField(
        _("occurred at"), help_text=_("When the cause happened; decides the period.")
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        db_index=False,
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    reverses = models.ForeignKey(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        related_name="reversals",
        null=True,
        blank=True,
        db_index=False,
    )
    # Unique by a constraint rather than unique=True, which on PostgreSQL adds a second
    # (pattern) index that every award would maintain for nothing.
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)

    objects = CreditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("credit entry")
        verbose_name_plural = _("credit entries")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="credits_entry_idempotency_key"),
            # A second reversal of the same entry is refused by the database too.
            models.UniqueConstraint(fields=["reverses"], name="credits_entry_reversed_once"),
        ]
        indexes = [
            models.Index(fields=["person", "-occurred_at", "-id"], name="credits_entry_person_idx"),
            models.Index(fields=["occurred_at"], name="credits_entry_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.points:+} {self.label or self.source_kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Credit entries are append-only: record a reversal instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Credit entries are append-only: record a reversal instead.")

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None


class CreditPolicy(models.Model):
    """How many points each cause is worth, and what credits are called (one row, pk=1).

    Callers (courses, lectures, exams, awards) price their cause through the selectors
    (`course_points`, …) at the moment they award it; changing a value here changes
    future awards, never entries already in the ledger.
    """

    unit_label = models.CharField(
        _("unit label"),
        max_length=10,
        default="学分",
        help_text=_("What a point is called on every page: 学分 (credits) or 学时 (class hours)."),
    )
    course_long_minutes = models.PositiveIntegerField(_("long course from (minutes)"), default=30)
    course_long_points = models.DecimalField(
        _("points for a long course"), max_digits=6, decimal_places=2, default=Decimal("1")
    )
    course_medium_minutes = models.PositiveIntegerField(
        _("medium course from (minutes)"), default=15
    )
    course_medium_points = models.DecimalField(
        _("points for a medium course"), max_digits=6, decimal_places=2, default=Decimal("0.5")
    )
    course_short_points = models.DecimalField(
        _("points for a short course"), max_digits=6, decimal_places=2, default=Decimal("0.25")
    )
    attendance_points_per_hour = models.DecimalField(
        _("points per attended class hour"), max_digits=6, decimal_places=2, default=Decimal("1")
    )
    lecture_multiplier = models.DecimalField(
        _("lecture multiplier"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("2"),
        help_text=_("A lecturer earns this many times the class's hours (下午微课堂 lectures)."),
    )
    exam_points = models.DecimalField(
        _("points per passed exam"), max_digits=6, decimal_places=2, default=Decimal("1")
    )
    award_points = models.DecimalField(
        _("default points per award"), max_digits=6, decimal_places=2, default=Decimal("2")
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("credit policy")
        verbose_name_plural = _("credit policy")
        constraints = [
            models.CheckConstraint(
                condition=Q(course_medium_minutes__lte=models.F("course_long_minutes")),
                name="credits_policy_course_thresholds_ordered",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Credit policy"))


class RequiredOrElective(models.TextChoices):
    REQUIRED = "required", _("required")
    ELECTIVE = "elective", _("elective")


class SourceRule(models.Model):
    """From `year` on (until a later row), how a source counts toward the requirement.

    `counts_as` splits the progress bar into required (必修) and elective (选修) credits.
    The caps are annual and apply to the person's year total only: at most
    `cap_percent` % of the person's requirement and at most `cap_points` points of this
    source count that year (e.g. online courses at most 60 %). Quarter and month totals
    show activity in the period and are not capped.
    """

    source_kind = models.CharField(_("source"), max_length=20, choices=SourceKind.choices)
    year = models.PositiveSmallIntegerField(
        _("from year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    counts_as = models.CharField(
        _("counts as"),
        max_length=10,
        choices=RequiredOrElective.choices,
        default=RequiredOrElective.ELECTIVE,
    )
    cap_percent = models.DecimalField(
        # xgettext:no-python-format
        _("annual cap (% of requirement)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    cap_points = models.DecimalField(
        _("annual cap (points)"),
        max_digits=POINTS_MAX_DIGITS,
        decimal_places=POINTS_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )

    class Meta:
        verbose_name = _("source rule")
        verbose_name_plural = _("source rules")
        ordering = ["-year", "source_kind"]
        constraints = [
            models.UniqueConstraint(fields=["source_kind", "year"], name="credits_source_rule_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_kind_display()} {self.year}"


class AwardRule(models.Model):
    """Points for one award type (by the code the awards app uses, e.g. excellent_lecturer)."""

    award_code = models.CharField(_("award code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    points = models.DecimalField(
        _("points"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )

    class Meta:
        verbose_name = _("award rule")
        verbose_name_plural = _("award rules")
        ordering = ["award_code"]

    def __str__(self) -> str:
        return self.name or self.award_code


class Requirement(models.Model):
    """The annual credits a person of `cadre_level` must earn, from `year` on.

    A row applies to its year and to later years until a newer row for the same level;
    `cadre_level = NULL` is the requirement of everyone whose level has no row of its
    own. `required_points`, when set, is the part that must come from required sources.
    """

    cadre_level = models.ForeignKey(
        "org.CadreLevel",
        verbose_name=_("cadre level"),
        on_delete=models.CASCADE,
        related_name="credit_requirements",
        null=True,
        blank=True,
    )
    year = models.PositiveSmallIntegerField(
        _("from year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    points = models.DecimalField(
        _("required points per year"),
        max_digits=POINTS_MAX_DIGITS,
        decimal_places=POINTS_PLACES,
        validators=[MinValueValidator(Decimal("0"))],
    )
    required_points = models.DecimalField(
        _("of which from required sources"),
        max_digits=POINTS_MAX_DIGITS,
        decimal_places=POINTS_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )

    class Meta:
        verbose_name = _("annual requirement")
        verbose_name_plural = _("annual requirements")
        ordering = ["-year", "cadre_level__sort_order"]
        constraints = [
            models.UniqueConstraint(
                fields=["cadre_level", "year"],
                condition=Q(cadre_level__isnull=False),
                name="credits_requirement_level_year_uniq",
            ),
            models.UniqueConstraint(
                fields=["year"],
                condition=Q(cadre_level__isnull=True),
                name="credits_requirement_default_year_uniq",
            ),
            models.CheckConstraint(
                condition=Q(required_points__isnull=True)
                | Q(required_points__lte=models.F("points")),
                name="credits_requirement_required_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cadre_level or _('everyone')} {self.year}: {self.points}"


class RankingVisibility(models.TextChoices):
    FULL = "full", _("full list")
    TOP_N = "top_n", _("top N plus own rank")
    OWN = "own", _("own rank only")
    OFF = "off", _("off")


class RankingPolicy(models.Model):
    """What learners of one organisation (a root unit) see of the rankings.

    Forced public rankings are discouraged for government staff, so each organisation
    chooses. Without a row the default applies: top 10 plus own rank, names shown.
    Unit admins and managers see the full list of their own scope, unmasked.
    """

    root = models.OneToOneField(
        "org.OrgUnit",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="ranking_policy",
    )
    visibility = models.CharField(
        _("visibility"),
        max_length=10,
        choices=RankingVisibility.choices,
        default=RankingVisibility.TOP_N,
    )
    top_n = models.PositiveIntegerField(
        _("N"), default=10, validators=[MinValueValidator(1), MaxValueValidator(500)]
    )
    mask_names = models.BooleanField(
        _("mask names"), default=False, help_text=_("Show 张* instead of 张三 to learners.")
    )

    class Meta:
        verbose_name = _("ranking policy")
        verbose_name_plural = _("ranking policies")

    def __str__(self) -> str:
        return f"{self.root}: {self.get_visibility_display()}"


class PersonTotal(models.Model):
    """A person's credits in one period (year ``2025``, quarter ``2025-Q4``, month ``2025-12``).

    Derived from the ledger, upserted in the same transaction as each entry and
    rebuilt by `totals_rebuild`. `src_*` are raw sums per source; `total` applies the
    annual caps of `SourceRule` on year rows and equals the plain sum on quarter and
    month rows. `unit`/`root` are where the person is now (re-attached by the rank
    task). Ranks are not stored per person — rewriting millions of rank cells after
    every refresh is what made ranking slow — but read from `RankStep`.
    """

    # Derived rows: the unique (person, period) index serves lookups by person, and the
    # unit/organisation are re-attached by every rank refresh, so these foreign keys carry
    # no index or constraint of their own — each one would cost every award and rebuild.
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="credit_totals",
        db_index=False,
    )
    period = models.CharField(max_length=7)
    kind = models.CharField(max_length=1, choices=PeriodKind.choices)
    year = models.PositiveSmallIntegerField()
    unit = models.ForeignKey(
        "org.OrgUnit",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    root = models.ForeignKey(
        "org.OrgUnit",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    src_course = models.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=2, db_default=0)
    src_attendance = models.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=2, db_default=0)
    src_lecture = models.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=2, db_default=0)
    src_exam = models.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=2, db_default=0)
    src_award = models.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=2, db_default=0)
    src_adjustment = models.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=2, db_default=0)
    total = models.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=2, db_default=0)
    entries = models.PositiveIntegerField(db_default=0)
    # `total` as of the last rank refresh (0 on insert, then set only by the refresh): the
    # order of the ranking pages, consistent with `RankStep`; a row the refresh has not
    # seen yet differs from its total, so the refresh finds it (and writes it to the live
    # sets, repairing a lost push). Awards change `total`, never
    # an indexed column, so their UPDATE is a HOT update (no index entries to write) —
    # with `total` itself indexed every award wrote twelve index entries into tables far
    # larger than the buffer cache.
    rank_total = models.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=2, db_default=0)

    class Meta:
        verbose_name = _("person total")
        verbose_name_plural = _("person totals")
        constraints = [
            models.UniqueConstraint(fields=["person", "period"], name="credits_pt_person_period"),
        ]
        indexes = [
            # Pages of a ranking read these in order: the top 50 is one short index scan.
            models.Index(fields=["period", "root", "-rank_total", "person"], name="credits_pt_org_rank"),
            models.Index(fields=["period", "unit", "-rank_total", "person"], name="credits_pt_unit_rank"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.period}: {self.total}"


class UnitTotal(models.Model):
    """A unit's credits in one period and its standing among the organisation's units.

    `points` is what the unit's people earned while in the unit (entries attributed by
    `CreditEntry.unit`), counting capped sources as they counted for the person, and
    is upserted with each entry. The rest is computed by the rank task from the
    members' person totals: `member_count` active members (`members_with_credits` of them with a positive
    total, so a member without a row ranks next in the unit), `avg_points` per member,
    on year rows `on_track_count` (members at or above the pro-rata requirement on
    `stats_date`), and the ranks by average and by compliance rate (ties share a rank).
    """

    unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    period = models.CharField(max_length=7)
    kind = models.CharField(max_length=1, choices=PeriodKind.choices)
    year = models.PositiveSmallIntegerField()
    root = models.ForeignKey(
        "org.OrgUnit",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    points = models.DecimalField(max_digits=TOTAL_MAX_DIGITS + 2, decimal_places=2, db_default=0)
    entries = models.PositiveIntegerField(db_default=0)
    member_count = models.PositiveIntegerField(db_default=0)
    members_with_credits = models.PositiveIntegerField(db_default=0)
    on_track_count = models.PositiveIntegerField(db_default=0)
    avg_points = models.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=2, db_default=0)
    compliance_rate = models.DecimalField(max_digits=5, decimal_places=4, db_default=0)
    rank_avg = models.PositiveIntegerField(null=True, blank=True)
    rank_compliance = models.PositiveIntegerField(null=True, blank=True)
    stats_date = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("unit total")
        verbose_name_plural = _("unit totals")
        constraints = [
            models.UniqueConstraint(fields=["unit", "period"], name="credits_ut_unit_period"),
        ]
        indexes = [
            models.Index(fields=["period", "root", "rank_avg"], name="credits_ut_avg_rank"),
            models.Index(fields=["period", "root", "rank_compliance"], name="credits_ut_cmp_rank"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.period}: {self.points}"

    @property
    def behind_count(self) -> int:
        return max(self.member_count - self.on_track_count, 0)


class RankStep(models.Model):
    """One distinct total in an organisation's ranking: how many people have it and the
    rank they share.

    For each period and organisation the rank task writes one row per distinct total
    among active people: ``rank`` is one more than the number of people with a higher
    total (competition ranking: 1, 2, 2, 4). Totals are coarse (quarter points), so an
    organisation of 200,000 people has a few hundred steps a period, and a person's rank
    is one indexed read — the lowest step above their total — never a count of the
    people ahead. Between refreshes a person who just earned credits is placed among the
    others as of the last refresh. Ranks within a unit (a few hundred people at most) are
    counted over the unit's totals instead (`credits.totals.rank_snapshot`).
    """

    class Scope(models.TextChoices):
        ORGANISATION = "o", _("organisation")

    period = models.CharField(max_length=7)
    scope = models.CharField(max_length=1, choices=Scope.choices)
    scope_id = models.BigIntegerField()
    total = models.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=2)
    people = models.PositiveIntegerField()
    rank = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("ranking step")
        verbose_name_plural = _("ranking steps")
        constraints = [
            models.UniqueConstraint(
                fields=["period", "scope", "scope_id", "total"], name="credits_step_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.scope}{self.scope_id} {self.total}: #{self.rank} ×{self.people}"


class RankBoard(models.Model):
    """Size of one organisation's person ranking for a period, as of the last rank refresh.

    `ranked` is the number of active people with a total row, `with_credits` those with
    a positive total: someone with no row ranks `with_credits + 1`, tied with everyone
    else at zero, without counting anyone at read time.
    """

    root = models.ForeignKey("org.OrgUnit", on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=7)
    population = models.PositiveIntegerField(default=0)
    ranked = models.PositiveIntegerField(default=0)
    with_credits = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("ranking board")
        verbose_name_plural = _("ranking boards")
        constraints = [
            models.UniqueConstraint(fields=["root", "period"], name="credits_board_root_period"),
        ]

    def __str__(self) -> str:
        return f"{self.root_id} {self.period}"
