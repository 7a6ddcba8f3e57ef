"""Scoped reads of the organisation.

This module answers the one question every other app asks: *which units and which
people may this user see, and which may they manage?* A right granted on a unit covers
its whole subtree and nothing else; a system admin (superuser) sees everything; a
person with no grant sees only themselves.

Scopes are expressed as a tuple of materialised paths (the roots of the subtrees), or
`None` for "no restriction". Apps filter their own querysets with those paths, e.g.
`Entry.objects.filter(person__in=people_in_scope(user))` or by `unit__path__startswith`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from django.db import connection
from django.db.models import Count, Q, QuerySet

from org.models import (
    CadreLevel,
    Feedback,
    Notification,
    OrgUnit,
    Role,
    RoleGrant,
    User,
    ancestor_paths,
    prefix_q,
)

Access = Literal["view", "manage"]

# Which roles give which kind of access to a subtree.
VIEW_ROLES = frozenset({Role.UNIT_ADMIN, Role.MANAGER, Role.CLASS_TEACHER})
MANAGE_ROLES = frozenset({Role.UNIT_ADMIN})

_CACHE_ATTR = "_org_scope_cache"
_UNREAD_ATTR = "_org_unread_count"


def _collapse(paths: list[str]) -> tuple[str, ...]:
    """Drop paths that lie inside another path of the list (their subtree is covered)."""
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not kept or not path.startswith(kept[-1]):
            kept.append(path)
    return tuple(kept)


@dataclass(frozen=True)
class Scope:
    """The subtrees a user may see and manage. `None` means everything."""

    view: tuple[str, ...] | None
    manage: tuple[str, ...] | None
    roles: frozenset[str]

    def paths(self, access: Access) -> tuple[str, ...] | None:
        return self.manage if access == "manage" else self.view

    def covers(self, unit: OrgUnit | None, access: Access = "view") -> bool:
        paths = self.paths(access)
        if paths is None:
            return True
        if unit is None:
            return False
        return any(unit.path.startswith(p) for p in paths)

    @property
    def is_global(self) -> bool:
        return self.view is None


def scope_for(user: User) -> Scope:
    """The user's scope, computed once per user object (i.e. once per request).

    The same round trip counts the user's unread notices, which every page's chrome
    shows (`unread_notification_count` then needs no query of its own).
    """
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    if not user.is_authenticated or not user.is_active:
        scope = Scope(view=(), manage=(), roles=frozenset())
    elif user.is_superuser:
        scope = Scope(view=None, manage=None, roles=frozenset({"system_admin"}))
    else:
        grants, unread = _grants_and_unread(user.pk)
        setattr(user, _UNREAD_ATTR, unread)
        scope = Scope(
            view=_collapse([path for role, path in grants if role in VIEW_ROLES]),
            manage=_collapse([path for role, path in grants if role in MANAGE_ROLES]),
            roles=frozenset(role for role, _ in grants),
        )
    setattr(user, _CACHE_ATTR, scope)
    return scope


def _grants_and_unread(user_id: int) -> tuple[list[tuple[str, str]], int]:
    """The user's (role, unit path) grants and their unread notice count, in one query."""
    grant, unit, notice = RoleGrant._meta.db_table, OrgUnit._meta.db_table, Notification._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT g.role, u.path, 0 FROM {grant} g JOIN {unit} u ON u.id = g.unit_id "  # noqa: S608
            f"WHERE g.user_id = %s "
            f"UNION ALL SELECT NULL, NULL, COUNT(*) FROM {notice} "
            f"WHERE recipient_id = %s AND read_at IS NULL",
            [user_id, user_id],
        )
        rows = cursor.fetchall()
    grants = [(role, path) for role, path, _n in rows if role is not None]
    unread = next((int(n) for role, _path, n in rows if role is None), 0)
    return grants, unread


def forget_scope(user: User) -> None:
    """Drop the cached scope (and unread count) after the user's grants changed."""
    for attr in (_CACHE_ATTR, _UNREAD_ATTR):
        user.__dict__.pop(attr, None)


def forget_unread_count(user: User) -> None:
    """Drop the unread count cached on this user object after their notices changed."""
    user.__dict__.pop(_UNREAD_ATTR, None)


def units_in_scope(user: User, *, access: Access = "view") -> QuerySet[OrgUnit]:
    """Units the user may see (or manage). A person without grants sees their own unit."""
    scope = scope_for(user)
    paths = scope.paths(access)
    units = OrgUnit.objects.within(paths)
    if access == "view" and paths is not None and user.is_authenticated and user.unit_id:
        units = OrgUnit.objects.filter(Q(pk__in=units.values("pk")) | Q(pk=user.unit_id))
    return units.order_by("path")


def people_in_scope(user: User, *, access: Access = "view") -> QuerySet[User]:
    """People the user may see (or manage). Everyone may see themselves."""
    scope = scope_for(user)
    paths = scope.paths(access)
    people = User.objects.in_units(paths)
    if access == "view" and paths is not None and user.is_authenticated:
        people = User.objects.filter(Q(pk__in=people.values("pk")) | Q(pk=user.pk))
    return people


def can_manage_unit(user: User, unit: OrgUnit) -> bool:
    return scope_for(user).covers(unit, "manage")


def can_view_unit(user: User, unit: OrgUnit) -> bool:
    return scope_for(user).covers(unit, "view") or unit.pk == getattr(user, "unit_id", None)


def can_manage_person(user: User, person: User) -> bool:
    return scope_for(user).covers(person.unit, "manage")


def can_view_person(user: User, person: User) -> bool:
    return person.pk == user.pk or scope_for(user).covers(person.unit, "view")


def unit_full_names(units: QuerySet[OrgUnit] | None = None) -> dict[int, str]:
    """`{unit id: "市/区/街道"}` for the given units, computed from one ordered scan.

    Ancestors are needed for the names, so the scan covers every unit whose path is a
    prefix of a requested one; on a few thousand units this is one cheap query.
    """
    names_by_path: dict[str, str] = {}
    full: dict[int, str] = {}
    wanted = None if units is None else set(units.values_list("pk", flat=True))
    for pk, path, name in OrgUnit.objects.order_by("path").values_list("pk", "path", "name"):
        parent_path = path[: -OrgUnit.steplen]
        prefix = names_by_path.get(parent_path)
        names_by_path[path] = f"{prefix}/{name}" if prefix else name
        if wanted is None or pk in wanted:
            full[pk] = names_by_path[path]
    return full


def unit_full_name(unit: OrgUnit) -> str:
    """"市/区/街道" for one unit (one query for its ancestors)."""
    names = list(
        OrgUnit.objects.filter(
            path__in=ancestor_paths(unit.path)
        )
        .order_by("depth")
        .values_list("name", flat=True)
    )
    return "/".join(names)


def unit_tree_with_counts(user: User) -> list[OrgUnit]:
    """The units in the user's scope, in tree order, each annotated with `member_count`."""
    return list(
        units_in_scope(user).annotate(member_count=Count("members", filter=Q(members__is_active=True)))
    )


def unread_notification_count(user: User) -> int:
    """Unread notices of `user`; counted along with the scope when that was computed."""
    cached = getattr(user, _UNREAD_ATTR, None)
    if cached is not None:
        return cached
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notifications_for(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def feedback_visible_to(user: User) -> QuerySet[Feedback]:
    """Feedback the user wrote, plus feedback sent from units they manage."""
    manage = scope_for(user).paths("manage")
    visible = Q() if manage is None else Q(author=user) | prefix_q("unit__path", manage)
    return Feedback.objects.filter(visible).select_related("author", "unit", "replied_by")


def admins_of_unit(unit: OrgUnit) -> QuerySet[User]:
    """Active unit admins whose grant covers `unit` (on it or on an ancestor)."""
    return User.objects.filter(
        is_active=True,
        grants__role=Role.UNIT_ADMIN,
        grants__unit__path__in=ancestor_paths(unit.path),
    ).distinct()


def search_people(
    user: User,
    *,
    text: str = "",
    unit: OrgUnit | None = None,
    active: bool | None = None,
) -> QuerySet[User]:
    """People in the user's view scope, optionally under `unit`, matching name or number."""
    people = people_in_scope(user).select_related("unit", "cadre_level")
    if unit is not None:
        people = people.filter(unit__path__startswith=unit.path)
    if active is not None:
        people = people.filter(is_active=active)
    text = text.strip()
    if text:
        people = people.filter(Q(name__icontains=text) | Q(employee_no__icontains=text))
    return people.order_by("unit__path", "employee_no")


@dataclass(frozen=True)
class ScopeSummary:
    units: int
    people: int
    active_people: int
    open_feedback: int


def scope_summary(user: User) -> ScopeSummary:
    """Headline counts for an admin's or manager's home page."""
    paths = scope_for(user).paths("view")
    people = User.objects.in_units(paths)
    return ScopeSummary(
        units=OrgUnit.objects.within(paths).count(),
        people=people.count(),
        active_people=people.filter(is_active=True).count(),
        open_feedback=feedback_visible_to(user)
        .exclude(author=user)
        .filter(status=Feedback.Status.OPEN)
        .count(),
    )


# --- Lineage, personal details and grants for the API and list pages -------------------


@dataclass(frozen=True)
class UnitLineage:
    """Where a unit sits: its parent's id (None for a root) and its "市/区/街道" full name."""

    parent_id: int | None
    full_name: str


def unit_lineages(units: Iterable[OrgUnit]) -> dict[int, UnitLineage]:
    """`{unit id: UnitLineage}` for the given units, from one query for all their ancestors.

    A materialised path lists every ancestor's path as a prefix, so a page of units (or the
    units of a page of people) needs one `path IN (...)` read, never a query per row.
    """
    units = [u for u in units if u is not None]
    wanted = {p for u in units for p in ancestor_paths(u.path)}
    if not wanted:
        return {}
    rows = OrgUnit.objects.filter(path__in=wanted).values_list("path", "pk", "name")
    by_path = {path: (pk, name) for path, pk, name in rows}
    lineages: dict[int, UnitLineage] = {}
    for unit in units:
        names = [by_path[p][1] for p in ancestor_paths(unit.path) if p in by_path]
        step = OrgUnit.steplen
        parent = by_path.get(unit.path[:-step]) if len(unit.path) > step else None
        lineages[unit.pk] = UnitLineage(
            parent_id=parent[0] if parent else None, full_name="/".join(names)
        )
    return lineages


# Personal details (phone, e-mail, birth date) are for the person, the unit admins and the
# managers of their unit. A class teacher follows learners' progress and reaches them
# through notifications, so a class-teacher grant alone does not reveal them.
PERSONAL_DETAIL_ROLES = frozenset({Role.UNIT_ADMIN, Role.MANAGER})

_DETAIL_CACHE_ATTR = "_org_personal_detail_paths"


def personal_detail_paths(user: User) -> tuple[str, ...] | None:
    """Subtrees whose people's personal details the user may read (None = everyone)."""
    scope = scope_for(user)
    cached = getattr(user, _DETAIL_CACHE_ATTR, None)
    if cached is not None and cached[0] is scope:  # recomputed after forget_scope()
        return cached[1]
    paths: tuple[str, ...] | None
    if scope.is_global:
        paths = None
    elif not scope.roles & PERSONAL_DETAIL_ROLES:
        paths = ()
    else:
        paths = _collapse(
            list(
                RoleGrant.objects.filter(user=user, role__in=PERSONAL_DETAIL_ROLES).values_list(
                    "unit__path", flat=True
                )
            )
        )
    setattr(user, _DETAIL_CACHE_ATTR, (scope, paths))
    return paths


def can_view_personal_details(user: User, person: User) -> bool:
    """True for the person themselves, a system admin, and admins/managers of their unit."""
    if person.pk == user.pk:
        return True
    paths = personal_detail_paths(user)
    if paths is None:
        return True
    unit = person.unit
    return unit is not None and any(unit.path.startswith(p) for p in paths)


def role_grants_of(user: User) -> QuerySet[RoleGrant]:
    """The user's own role grants with their units, in tree order."""
    return RoleGrant.objects.filter(user=user).select_related("unit").order_by("unit__path", "role")


# --- System administration -------------------------------------------------------------


def role_grants_filtered(
    *, role: str = "", unit: OrgUnit | None = None, text: str = ""
) -> QuerySet[RoleGrant]:
    """Every role grant (for the system admin's list), optionally of one role, on units
    under `unit`, or held by people whose name or employee number contains `text`."""
    grants = RoleGrant.objects.select_related("user", "unit", "granted_by")
    if role:
        grants = grants.filter(role=role)
    if unit is not None:
        grants = grants.filter(unit__path__startswith=unit.path)
    text = text.strip()
    if text:
        grants = grants.filter(Q(user__name__icontains=text) | Q(user__employee_no__icontains=text))
    return grants.order_by("unit__path", "role", "user__employee_no")


def cadre_levels_with_counts() -> QuerySet[CadreLevel]:
    """Cadre levels in order, each annotated with `member_count` (active people)."""
    return CadreLevel.objects.annotate(
        member_count=Count("members", filter=Q(members__is_active=True))
    ).order_by("sort_order", "code")
