"""Writes to the organisation: units, cadre levels, role grants, notices, feedback.

Every function validates first, then writes inside one transaction. Scope checks live
here too (not only in views), so the API, the pages and the commands cannot disagree.
Roster import lives in `org.roster` (parsing and validation) and `roster_import` here.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from org import selectors
from org.models import CadreLevel, Feedback, Notification, OrgUnit, Role, RoleGrant, User

# --- Units -------------------------------------------------------------------------------


def _require_system_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_superuser:
        raise PermissionDenied(_("Only a system administrator may change the organisation."))


@transaction.atomic
def unit_create(
    *,
    parent: OrgUnit | None,
    code: str,
    name: str,
    kind: str = "",
    sort_order: int = 0,
    actor: User | None = None,
) -> OrgUnit:
    """Add a unit under `parent` (or a new root). `actor=None` is a trusted caller."""
    _require_system_admin(actor)
    code, name = code.strip(), name.strip()
    errors: dict[str, list[str]] = {}
    if not code:
        errors["code"] = [_("A unit needs a code.")]
    elif OrgUnit.objects.filter(code=code).exists():
        errors["code"] = [_("The code “%(code)s” is already used by another unit.") % {"code": code}]
    if not name:
        errors["name"] = [_("A unit needs a name.")]
    elif "/" in name:
        errors["name"] = [_("A unit name cannot contain “/”: it separates levels in full paths.")]
    else:
        siblings = OrgUnit.objects.get_children(parent) if parent else OrgUnit.objects.get_root_nodes()
        if siblings.filter(name=name).exists():
            errors["name"] = [_("There is already a unit called “%(name)s” here.") % {"name": name}]
    if errors:
        raise ValidationError(errors)
    fields = {"code": code, "name": name, "kind": kind.strip(), "sort_order": sort_order}
    if parent is None:
        return OrgUnit.objects.add_root(fields)
    return OrgUnit.objects.add_child(parent, fields)


@transaction.atomic
def unit_update(
    *,
    unit: OrgUnit,
    code: str,
    name: str,
    kind: str = "",
    sort_order: int = 0,
    is_active: bool = True,
    actor: User | None = None,
) -> OrgUnit:
    _require_system_admin(actor)
    code, name = code.strip(), name.strip()
    errors: dict[str, list[str]] = {}
    if not code:
        errors["code"] = [_("A unit needs a code.")]
    elif OrgUnit.objects.filter(code=code).exclude(pk=unit.pk).exists():
        errors["code"] = [_("The code “%(code)s” is already used by another unit.") % {"code": code}]
    if not name:
        errors["name"] = [_("A unit needs a name.")]
    elif "/" in name:
        errors["name"] = [_("A unit name cannot contain “/”: it separates levels in full paths.")]
    else:
        parent = OrgUnit.objects.get_parent(unit)
        siblings = OrgUnit.objects.get_children(parent) if parent else OrgUnit.objects.get_root_nodes()
        if siblings.filter(name=name).exclude(pk=unit.pk).exists():
            errors["name"] = [_("There is already a unit called “%(name)s” here.") % {"name": name}]
    if not is_active and unit.members.filter(is_active=True).exists():
        errors["is_active"] = [_("Move or deactivate the unit's active members first.")]
    if errors:
        raise ValidationError(errors)
    reorder = (sort_order, name) != (unit.sort_order, unit.name)
    unit.code, unit.name, unit.kind = code, name, kind.strip()
    unit.sort_order, unit.is_active = sort_order, is_active
    unit.save(update_fields=["code", "name", "kind", "sort_order", "is_active"])
    if reorder:
        # node_order_by places a unit only when it is added or moved: re-place it among
        # its siblings, or a new sort order / name would not show in the tree order.
        parent = OrgUnit.objects.get_parent(OrgUnit.objects.get(pk=unit.pk))
        if parent is None:
            OrgUnit.objects.move(unit, OrgUnit.objects.get_first_root_node(), pos="sorted-sibling")
        else:
            OrgUnit.objects.move(unit, parent, pos="sorted-child")
    return unit


@transaction.atomic
def unit_move(*, unit: OrgUnit, new_parent: OrgUnit | None, actor: User | None = None) -> OrgUnit:
    """Move a unit (with its subtree) under another parent, or make it a root."""
    _require_system_admin(actor)
    unit = OrgUnit.objects.get(pk=unit.pk)
    if new_parent is not None:
        new_parent = OrgUnit.objects.get(pk=new_parent.pk)
        if unit.contains(new_parent):
            raise ValidationError(
                {"parent": [_("A unit cannot be moved inside its own subtree.")]}
            )
        if OrgUnit.objects.get_children(new_parent).filter(name=unit.name).exclude(pk=unit.pk).exists():
            raise ValidationError(
                {"parent": [_("There is already a unit called “%(name)s” there.") % {"name": unit.name}]}
            )
        OrgUnit.objects.move(unit, new_parent, pos="sorted-child")
    else:
        if OrgUnit.objects.get_root_nodes().filter(name=unit.name).exclude(pk=unit.pk).exists():
            raise ValidationError(
                {"parent": [_("There is already a unit called “%(name)s” there.") % {"name": unit.name}]}
            )
        OrgUnit.objects.move(unit, OrgUnit.objects.get_first_root_node(), pos="sorted-sibling")
    return OrgUnit.objects.get(pk=unit.pk)


# --- Cadre levels ------------------------------------------------------------------------


@transaction.atomic
def cadre_level_save(
    *,
    level: CadreLevel | None = None,
    code: str,
    name: str,
    sort_order: int = 0,
    actor: User | None = None,
) -> CadreLevel:
    _require_system_admin(actor)
    code, name = code.strip(), name.strip()
    others = CadreLevel.objects.exclude(pk=level.pk) if level else CadreLevel.objects.all()
    errors: dict[str, list[str]] = {}
    if not code:
        errors["code"] = [_("A cadre level needs a code.")]
    elif others.filter(code=code).exists():
        errors["code"] = [_("The code “%(code)s” is already used.") % {"code": code}]
    if not name:
        errors["name"] = [_("A cadre level needs a name.")]
    elif others.filter(name=name).exists():
        errors["name"] = [_("The name “%(name)s” is already used.") % {"name": name}]
    if errors:
        raise ValidationError(errors)
    level = level or CadreLevel()
    level.code, level.name, level.sort_order = code, name, sort_order
    level.save()
    return level


# --- Role grants -------------------------------------------------------------------------


@transaction.atomic
def role_grant_create(
    *, user: User, unit: OrgUnit, role: str, granted_by: User | None = None
) -> RoleGrant:
    """Grant `role` on `unit` (and so on its subtree). Granting twice returns the grant."""
    _require_system_admin(granted_by)
    if role not in Role.values:
        raise ValidationError({"role": [_("Unknown role “%(role)s”.") % {"role": role}]})
    if not user.is_active:
        raise ValidationError({"user": [_("An inactive person cannot be given a role.")]})
    grant, _created = RoleGrant.objects.get_or_create(
        user=user, unit=unit, role=role, defaults={"granted_by": granted_by}
    )
    selectors.forget_scope(user)
    return grant


@transaction.atomic
def role_grant_revoke(*, grant: RoleGrant, actor: User | None = None) -> None:
    _require_system_admin(actor)
    RoleGrant.objects.filter(pk=grant.pk).delete()
    selectors.forget_scope(grant.user)


# --- Passwords ---------------------------------------------------------------------------


@transaction.atomic
def person_password_reset(*, actor: User, person: User) -> str:
    """Give a person in the actor's manage scope a one-time temporary password.

    Returns the password (shown once to the admin, stored only hashed). The person must
    choose their own at the next login. Used for people created by a roster import, who
    start without a usable password, and for forgotten passwords.
    """
    if not selectors.can_manage_person(actor, person) or person.pk == actor.pk:
        raise PermissionDenied(_("You may reset passwords only for people in units you manage."))
    if not person.is_active:
        raise ValidationError({"person": [_("An inactive person cannot be given a password.")]})
    if person.is_superuser and not actor.is_superuser:
        raise PermissionDenied(_("Only a system administrator may reset a system administrator's password."))
    temporary = "".join(secrets.choice(_PASSWORD_ALPHABET) for _i in range(10))
    person.set_password(temporary)
    person.must_change_password = True
    person.save(update_fields=["password", "must_change_password"])
    notification_send(
        recipients=[person],
        title=_("Your password was reset by %(name)s") % {"name": actor.name},
        body=_("Log in with the temporary password your admin gives you; you will then choose your own."),
        kind="account",
    )
    return temporary


# Without look-alike characters (0/O, 1/l/I), so it can be read out over the phone.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def password_changed(*, person: User) -> None:
    """The person chose their own password: lift the must-change flag."""
    if person.must_change_password:
        person.must_change_password = False
        person.save(update_fields=["must_change_password"])


# --- Notifications ---------------------------------------------------------------------


def notification_send(
    *,
    recipients: Iterable[User],
    title: str,
    body: str = "",
    link: str = "",
    kind: str = "general",
) -> list[Notification]:
    """Put a notice in each recipient's inbox; e-mail it too when e-mail is configured.

    The one way any app tells a person something. E-mail goes out from a Celery task
    after the surrounding transaction commits, so a rolled-back action sends nothing.
    """
    now = timezone.now()
    people = [p for p in recipients if p.is_active]
    notices = Notification.objects.bulk_create(
        [
            Notification(
                recipient=p, kind=kind, title=title[:200], body=body, link=link, created_at=now
            )
            for p in people
        ]
    )
    for person in people:
        selectors.forget_unread_count(person)
    if settings.NOTIFY_BY_EMAIL:
        from org.tasks import email_notifications

        ids = [n.pk for n in notices if n.recipient.email]
        if ids:
            transaction.on_commit(lambda: email_notifications.delay(ids))
    return notices


def notifications_mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notices read (all of them when `ids` is None); returns how many."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    marked = unread.update(read_at=timezone.now())
    selectors.forget_unread_count(user)
    return marked


# --- Feedback (意见建议) -------------------------------------------------------------------


@transaction.atomic
def feedback_submit(*, author: User, kind: str, subject: str, body: str) -> Feedback:
    """Send a suggestion or complaint to the admins of the author's unit."""
    subject, body = subject.strip(), body.strip()
    errors: dict[str, list[str]] = {}
    if kind not in Feedback.Kind.values:
        errors["kind"] = [_("Choose suggestion, complaint or question.")]
    if not subject:
        errors["subject"] = [_("Please give your message a subject.")]
    elif len(subject) > 200:
        errors["subject"] = [_("The subject is at most 200 characters.")]
    if not body:
        errors["body"] = [_("Please write your message.")]
    elif len(body) > 5000:
        errors["body"] = [_("The message is at most 5,000 characters.")]
    if author.unit_id is None:
        errors["author"] = [_("You are not a member of any unit, so there is no admin to send to.")]
    if errors:
        raise ValidationError(errors)
    feedback = Feedback.objects.create(
        author=author, unit_id=author.unit_id, kind=kind, subject=subject, body=body
    )
    notification_send(
        recipients=selectors.admins_of_unit(feedback.unit),
        title=_("New feedback: %(subject)s") % {"subject": subject},
        body=body[:500],
        link=f"/feedback/{feedback.pk}/",
        kind="feedback",
    )
    return feedback


@transaction.atomic
def feedback_reply(*, feedback: Feedback, actor: User, reply: str) -> Feedback:
    """An admin of the feedback's unit answers it; the author is told."""
    feedback = Feedback.objects.select_for_update().get(pk=feedback.pk)
    if not selectors.can_manage_unit(actor, feedback.unit):
        raise PermissionDenied(_("Only an admin of the sender's unit may answer this."))
    reply = reply.strip()
    if not reply:
        raise ValidationError({"reply": [_("Please write a reply.")]})
    if len(reply) > 5000:
        raise ValidationError({"reply": [_("The reply is at most 5,000 characters.")]})
    feedback.reply = reply
    feedback.replied_by = actor
    feedback.replied_at = timezone.now()
    feedback.status = Feedback.Status.ANSWERED
    feedback.save(update_fields=["reply", "replied_by", "replied_at", "status"])
    notification_send(
        recipients=[feedback.author],
        title=_("Your feedback was answered: %(subject)s") % {"subject": feedback.subject},
        body=reply[:500],
        link=f"/feedback/{feedback.pk}/",
        kind="feedback",
    )
    return feedback


# =========================================================================================
# --- Roster import (staff roster from .xlsx / .csv) ---------------------------------------
# Parsing and validation live in `org.roster`; this section only decides and writes.
# (Imported here rather than at the top so the section stays self-contained.)
# =========================================================================================

import hashlib as _hashlib  # noqa: E402
from dataclasses import dataclass as _dataclass  # noqa: E402
from dataclasses import field as _field  # noqa: E402
from typing import IO as _IO  # noqa: E402

from django.contrib.auth.hashers import make_password as _make_password  # noqa: E402
from django.db import IntegrityError as _IntegrityError  # noqa: E402

from org import roster as _roster  # noqa: E402


@_dataclass
class RosterImportResult:
    """The outcome of one roster import or dry run.

    `errors` non-empty means nothing was written. `changes` lists every row: created,
    updated (with the changed fields old → new) or unchanged. People created by an
    import get an unusable password: an admin resets it before they can log in.
    `digest` identifies the planned changes; `stale` says the plan no longer matched the
    digest the caller previewed, so nothing was written.
    """

    dry_run: bool
    sheet: str
    errors: list[_roster.RosterError] = _field(default_factory=list)
    changes: list[_roster.RowChange] = _field(default_factory=list)
    ignored_columns: list[str] = _field(default_factory=list)
    applied: bool = False
    digest: str = ""
    stale: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def created(self) -> int:
        return sum(1 for c in self.changes if c.action == "create")

    @property
    def updated(self) -> int:
        return sum(1 for c in self.changes if c.action == "update")

    @property
    def unchanged(self) -> int:
        return sum(1 for c in self.changes if c.action == "unchanged")

    @property
    def changed_rows(self) -> list[_roster.RowChange]:
        return [c for c in self.changes if c.action != "unchanged"]


def roster_import(
    *,
    actor: User | None,
    file: _IO[bytes],
    filename: str,
    dry_run: bool,
    expected_digest: str | None = None,
) -> RosterImportResult:
    """Import a staff roster: validate the whole file, then create / update people.

    `actor=None` is the system (the command without `--as`): the whole organisation.
    Otherwise the actor must be a unit admin or system admin, and every row must lie in
    the units they manage. Nothing is written unless the whole file is valid; a dry run
    never writes. The plan is recomputed inside the write transaction with the named
    people locked; with `expected_digest` (from a dry run) the write happens only if
    the plan is still exactly the one that was previewed, else the result is `stale`.
    """
    if actor is not None and not _roster.can_import_roster(actor):
        raise PermissionDenied(_("Only unit administrators may import rosters."))
    parsed = _roster.parse_roster(file, filename=filename)
    result = RosterImportResult(
        dry_run=dry_run, sheet=parsed.sheet, ignored_columns=parsed.ignored_columns
    )
    if parsed.errors:
        result.errors = parsed.errors
        return result
    employee_nos = [row.values["employee_no"] for row in parsed.rows]
    try:
        with transaction.atomic():
            context = _roster.load_roster_context(
                actor=actor, employee_nos=employee_nos, lock=not dry_run
            )
            plan = _roster.plan_roster(parsed, context)
            result.errors, result.changes = plan.errors, plan.changes
            result.digest = _roster_digest(plan.changes)
            if plan.errors or dry_run:
                return result
            if expected_digest is not None and expected_digest != result.digest:
                result.stale = True
                return result
            _roster_write(plan.changes)
            result.applied = True
    except _IntegrityError:
        # Someone else created one of these employee numbers meanwhile; all rolled back.
        result.applied = False
        result.changes = []
        result.errors = [
            _roster.RosterError(
                parsed.sheet,
                None,
                "",
                _(
                    "The roster changed while this file was being imported, so nothing was "
                    "imported. Upload the file again."
                ),
                "conflict",
            )
        ]
    return result


def _roster_digest(changes: list[_roster.RowChange]) -> str:
    """A fingerprint of exactly what a plan would write, to compare preview and confirm."""
    digest = _hashlib.sha256()
    for change in changes:
        values = sorted((name, str(value)) for name, value in change.values.items())
        digest.update(repr((change.row, change.action, change.employee_no, values)).encode())
    return digest.hexdigest()


def _roster_write(changes: list[_roster.RowChange]) -> None:
    """Write a checked plan with bulk statements: 20,000 rows take seconds, not minutes."""
    new_people = [
        User(
            employee_no=change.employee_no,
            # No one knows this password: an admin resets it before the person logs in.
            password=_make_password(None),
            **change.values,
        )
        for change in changes
        if change.action == "create"
    ]
    User.objects.bulk_create(new_people, batch_size=1000)

    updates = [change for change in changes if change.action == "update"]
    if not updates:
        return
    fields = sorted({name for change in updates for name in change.values})
    current = {
        person.pk: person
        for start in range(0, len(updates), 500)
        for person in User.objects.filter(
            pk__in=[change.person_id for change in updates[start : start + 500]]
        ).only("pk", *fields)
    }
    people = []
    for change in updates:
        person = current[change.person_id]
        for name, value in change.values.items():
            setattr(person, name, value)
        people.append(person)
    User.objects.bulk_update(people, fields, batch_size=500)
