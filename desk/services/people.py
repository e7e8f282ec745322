"""The end-user directory and organizations, for agents who manage end users (`user.manage`) and administrators.

The directory pages through end users by name (a million of them: a page at a time, never all), edits them, bans
and unbans them (a banned user's Support Center sessions end, and their mail opens no tickets), and merges two
accounts of one person into one. Organizations have mail domains whose new end users join them by themselves,
and may share their members' tickets with each other in the Support Center.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, or_, select, union, update
from sqlalchemy.orm import Session

from desk.domain.enums import StatusState
from desk.domain.errors import Invalid
from desk.domain.inputs import check_limit, check_search, one_line, prefix_end
from desk.domain.people import OrganizationDetails, OrganizationForm, UserDetails, UserForm, UserPage, UserRow
from desk.domain.permissions import Actor, Right
from desk.domain.queues import text_sort_key
from desk.domain.staff import AuditAction, AuditKind
from desk.domain.views import Ref
from desk.services import audit
from desk.services.accounts import check_person, normalize_email, organization_for, require_right
from desk.services.audit import Shown
from desk.services.base import actor_kind, command, now, query
from desk.services.editing import audit_save, count, get_row, known, names_of, refuse_in_use, to_save, unique_name
from desk.services.queues import AnySelect
from desk.storage import changes, search
from desk.storage.models import Collaborator, Feedback, Organization, ThreadEntry, ThreadEvent, Ticket, User, UserToken

PAGE = 100
PROBE = 2000  # users read in name order for an address prefix, before its range (see _addresses)
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _manager(actor: Actor) -> None:
    require_right(actor, Right.USER_MANAGE)


def _from(column: Any, start: str, end: str | None = None) -> list[ColumnElement[bool]]:
    """The column from `start` to before `end` (or to the last): one range of its index, whose collation compares
    code points."""
    return [column >= start] if end is None else [column >= start, column < end]


# --- end users ----------------------------------------------------------------------------------------------------


@query
def list_users(
    session: Session, actor: Actor, text: str = "", *, after: tuple[str, int] | None = None, limit: int = PAGE
) -> UserPage:
    """End users by name, a page at a time (`after`: the last row's name and id); `text` narrows to names or
    addresses that begin with it (an address: its part before the @, or the whole).

    Names sort and match by their key (desk.domain.queues.text_sort_key, as the queues sort requesters): case,
    accents and runs of spaces make no difference ("emile" finds "Émile"), and the order is the same on every engine.
    Addresses match lower-cased, character for character. Each is one range of an index, so a million users
    cost no more than a thousand: the names' range (of `ix_users_name_key`) is read in page order, a page of it
    at most; the addresses' (of their unique index) is sorted by name, a few rows unless most addresses begin
    with the text. The page is the first of the two, merged.
    """
    _manager(actor)
    check_limit(limit, PAGE)
    needle = check_search(text)
    page = select(User.id, User.name, User.email, User.organization_id, User.banned, User.name_key)
    key, later = "", list[ColumnElement[bool]]()
    if after is not None:
        key = text_sort_key(after[0])
        later = [or_(User.name_key > key, User.id > after[1])]
    parts = [page.where(*_from(User.name_key, key), *later)]
    if needle:
        # The names' range starts at the text's key or at the last row's, whichever is later: given both lower
        # bounds, SQLite would range over one of them (the page's: every name from there to the text's end).
        prefix, address = text_sort_key(needle), needle.lower()
        parts = [
            page.where(*_from(User.name_key, max(prefix, key), prefix_end(prefix)), *later),
            _addresses(session, page.where(User.name_key >= key, *later), address, limit),
        ]
    ordered = [
        part.order_by(part.selected_columns.name_key, part.selected_columns.id).limit(limit + 1).subquery()
        for part in parts
    ]
    found = union(*(select(part) for part in ordered)).subquery() if needle else ordered[0]
    statement = (
        select(found.c.id, found.c.name, found.c.email, Organization.name, found.c.banned)
        .outerjoin(Organization, Organization.id == found.c.organization_id)
        .order_by(found.c.name_key, found.c.id)
        .limit(limit + 1)
    )
    rows = [UserRow(*row) for row in session.execute(statement)]
    return UserPage(rows=tuple(rows[:limit]), more=len(rows) > limit)


def _addresses(session: Session, page: AnySelect, address: str, limit: int) -> AnySelect:
    """The page's users whose address begins with `address`: their range of the address index, sorted by name.

    A text that begins most addresses (all "user…" ones for "u") would sort most of the table that way, and only
    PostgreSQL's statistics tell it so; the next PROBE users in name order then hold a page of them already.
    """
    head = page.with_only_columns(User.id, User.email).order_by(User.name_key, User.id).limit(PROBE).subquery()
    ids = session.scalars(select(head.c.id).where(*_from(head.c.email, address, prefix_end(address))).limit(limit + 1))
    if len(found := ids.all()) > limit:
        return page.where(User.id.in_(found))
    return page.where(*_from(User.email, address, prefix_end(address)))


def _user_form(user: User) -> UserForm:
    return UserForm(user.name, user.email, user.phone, user.organization_id)


def _user_details(session: Session, user: User) -> UserDetails:
    mine = Ticket.requester_id == user.id
    tickets = count(session, Ticket, mine)
    open_tickets = count(session, Ticket, mine, Ticket.state == StatusState.OPEN)
    return UserDetails(
        id=user.id,
        form=_user_form(user),
        banned=user.banned,
        registered=user.password_hash is not None,
        confirmed=user.email_confirmed_at is not None,
        created_at=user.created_at,
        tickets=tickets,
        open_tickets=open_tickets,
    )


def _shown_user(session: Session, form: UserForm) -> dict[str, Shown]:
    organization = names_of(session, Organization, [form.organization_id]).get(form.organization_id or 0)
    return {"name": form.name, "email": form.email, "phone": form.phone, "organization": organization}


@query
def get_end_user(session: Session, actor: Actor, user_id: int) -> UserDetails:
    """An end user to edit, with how many tickets they have and whether they registered."""
    _manager(actor)
    return _user_details(session, get_row(session, User, user_id))


@command
def save_user(session: Session, actor: Actor, user_id: int | None, form: UserForm) -> UserDetails:
    """Create or change an end user: name, address, phone and organization. Their tickets are found by the new
    name and address at once."""
    _manager(actor)
    check_person(form.name, form.phone)
    address = normalize_email(form.email)
    if session.scalar(select(User.id).where(User.email == address, User.id != (user_id or 0))):
        problem = f"Another end user has the address {address}: merge the two instead."
        raise Invalid(problem, {"email": problem})
    known(session, Organization, [form.organization_id], "organization_id", "organization")
    name = one_line(form.name)[:120] or address.split("@")[0]
    form = UserForm(name, address, (form.phone or "").strip() or None, form.organization_id)
    user, before = to_save(session, User, user_id, lambda u: _shown_user(session, _user_form(u)))
    if user_id is None:
        user.created_at = now()
    user.name, user.email, user.phone, user.organization_id = form.name, form.email, form.phone, form.organization_id
    session.flush()
    if before.get("name") != form.name or before.get("email") != form.email:
        _reindex(session, actor, select(Ticket.id).where(Ticket.requester_id == user.id))
    audit_save(session, actor, user_id, AuditKind.USER, user.id, form.name, before, _shown_user(session, form))
    return _user_details(session, user)


def _reindex(session: Session, actor: Actor, ticket_ids: Select[int]) -> None:
    """Their search documents again (the requester's name and address are in them), and a change each, so that
    open windows show the new requester."""
    at = now()
    for ticket_id in session.scalars(ticket_ids):
        search.refresh_document(session, ticket_id)
        changes.record(session, ticket_id, "requester", actor_kind(actor), getattr(actor, "id", None), at)


@command
def set_banned(session: Session, actor: Actor, user_id: int, banned: bool) -> UserDetails:
    """Ban an end user (their mail and Support Center requests open no tickets, their sessions end) or lift it."""
    _manager(actor)
    user = get_row(session, User, user_id)
    if user.banned != banned:
        user.banned = banned
        if banned:
            session.execute(delete(UserToken).where(UserToken.user_id == user_id))
        action = AuditAction.BANNED if banned else AuditAction.UNBANNED
        audit.record(session, actor, action, AuditKind.USER, user.id, user.name)
    return _user_details(session, user)


@command
def merge_users(session: Session, actor: Actor, keep_id: int, other_id: int) -> UserDetails:
    """Merge two accounts of one person: the other's tickets, messages, collaborations and feedback become the kept
    one's, and the other account is deleted (its Support Center sessions and links with it)."""
    _manager(actor)
    if keep_id == other_id:
        raise Invalid("Choose two different end users to merge.", {"other": "Choose another end user."})
    keep, other = get_row(session, User, keep_id), get_row(session, User, other_id)
    moved = select(Ticket.id).where(Ticket.requester_id == other_id)
    ticket_ids = list(session.scalars(moved))
    session.execute(update(Ticket).where(Ticket.requester_id == other_id).values(requester_id=keep_id))
    for model in (ThreadEntry, ThreadEvent, Feedback):
        session.execute(update(model).where(model.user_id == other_id).values(user_id=keep_id))
    both = select(Collaborator.ticket_id).where(Collaborator.user_id == keep_id)
    session.execute(delete(Collaborator).where(Collaborator.user_id == other_id, Collaborator.ticket_id.in_(both)))
    session.execute(
        delete(Collaborator).where(Collaborator.user_id == other_id, Collaborator.ticket_id.in_(ticket_ids))
    )  # the kept user is now the requester of those
    session.execute(update(Collaborator).where(Collaborator.user_id == other_id).values(user_id=keep_id))
    session.execute(delete(UserToken).where(UserToken.user_id == other_id))
    session.flush()
    session.expire_all()
    session.delete(session.get_one(User, other_id))
    session.flush()
    _reindex(session, actor, select(Ticket.id).where(Ticket.id.in_(ticket_ids)))
    changes_shown = {"merged": (f"{other.name} <{other.email}>", f"{keep.name} <{keep.email}>")}
    audit.record(session, actor, AuditAction.MERGED, AuditKind.USER, keep_id, keep.name, changes_shown)
    return _user_details(session, session.get_one(User, keep_id))


# --- organizations ------------------------------------------------------------------------------------------------


def _organization_form(row: Organization) -> OrganizationForm:
    return OrganizationForm(row.name, tuple((row.domains or "").split()), row.shares_tickets)


def _shown_organization(form: OrganizationForm) -> dict[str, Shown]:
    shares = "yes" if form.shares_tickets else "no"
    return {"name": form.name, "domains": " ".join(form.domains) or None, "members see each other's tickets": shares}


def _organization_details(session: Session, row: Organization) -> OrganizationDetails:
    members = count(session, User, User.organization_id == row.id)
    return OrganizationDetails(row.id, _organization_form(row), members)


@query
def list_organizations(session: Session, actor: Actor) -> list[Ref]:
    """The organizations, by name."""
    _manager(actor)
    return [
        Ref(i, n) for i, n in session.execute(select(Organization.id, Organization.name).order_by(Organization.name))
    ]


@query
def get_organization(session: Session, actor: Actor, organization_id: int) -> OrganizationDetails:
    """An organization to edit: its domains, whether members see each other's tickets, how many members."""
    _manager(actor)
    return _organization_details(session, get_row(session, Organization, organization_id))


@command
def save_organization(
    session: Session, actor: Actor, organization_id: int | None, form: OrganizationForm
) -> OrganizationDetails:
    """Create or change an organization: its name, its mail domains and whether members see each other's tickets.
    New end users with an address in its domains join it; those already there are left as they are."""
    _manager(actor)
    name = unique_name(session, Organization, form.name, organization_id, "organization")
    domains = tuple(dict.fromkeys(d.strip().lower().lstrip("@") for d in form.domains if d.strip()))
    if bad := [d for d in domains if not DOMAIN.match(d)]:
        problem = f"{', '.join(bad)}: give mail domains like example.com."
        raise Invalid(problem, {"domains": problem})
    for domain in domains:
        other = organization_for(session, f"someone@{domain}")
        if other is not None and other != organization_id:
            problem = f"{domain} is another organization's domain already."
            raise Invalid(problem, {"domains": problem})
    if len(" ".join(domains)) > 500:
        raise Invalid("Too many domains: at most 500 characters.", {"domains": "Remove some domains."})
    form = OrganizationForm(name, domains, form.shares_tickets)
    row, before = to_save(session, Organization, organization_id, lambda r: _shown_organization(_organization_form(r)))
    row.name, row.domains, row.shares_tickets = name, " ".join(domains) or None, form.shares_tickets
    session.flush()
    audit_save(session, actor, organization_id, AuditKind.ORGANIZATION, row.id, name, before, _shown_organization(form))
    return _organization_details(session, row)


@command
def delete_organization(session: Session, actor: Actor, organization_id: int) -> None:
    """Delete an organization that has no members (move them to another, or none, first)."""
    _manager(actor)
    row = get_row(session, Organization, organization_id)
    members = count(session, User, User.organization_id == organization_id)
    refuse_in_use(row.name, {"member": members}, "move them to another organization or none first")
    session.delete(row)
    audit.record(session, actor, AuditAction.DELETED, AuditKind.ORGANIZATION, organization_id, row.name)
