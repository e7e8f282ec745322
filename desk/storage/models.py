"""The schema: SQLAlchemy 2 typed models. Migrations in `migrations/` must produce exactly this."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    text,
    update,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from desk.domain.queues import text_sort_key
from desk.storage.types import (
    AddressString,
    JSONText,
    LongBlob,
    LongText,
    MessageIdString,
    SearchText,
    SortKeyString,
    UTCDateTime,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Ticket columns holding text sort keys (desk.domain.queues.text_sort_key), indexed after `state` for the queues.
SORT_KEY_COLUMNS = ("subject_key", "requester_key", "assignee_key", "department_key", "status_key")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSONText()}


def _fk(target: str, *, nullable: bool = False, ondelete: str | None = None, index: bool = False) -> Any:
    return mapped_column(ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index)


# --- reference data -------------------------------------------------------------------------------------------


class Setting(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONText())


class Sequence(Base):
    """Counters handed out under a row lock (ticket numbers in sequence mode)."""

    __tablename__ = "sequences"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class Schedule(Base):
    __tablename__ = "schedules"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[list[ScheduleHours]] = relationship(lazy="raise", cascade="all, delete-orphan")
    holidays: Mapped[list[Holiday]] = relationship(lazy="raise", cascade="all, delete-orphan")


class ScheduleHours(Base):
    """One business-hours interval on a weekday (0 = Monday), in minutes after local midnight."""

    __tablename__ = "schedule_hours"
    __table_args__ = (CheckConstraint("start_minute < end_minute AND end_minute <= 1440", name="interval"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = _fk("schedules.id", ondelete="CASCADE", index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    start_minute: Mapped[int] = mapped_column(SmallInteger)
    end_minute: Mapped[int] = mapped_column(SmallInteger)


class Holiday(Base):
    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("schedule_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = _fk("schedules.id", ondelete="CASCADE")
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(100))


class SlaPlan(Base):
    __tablename__ = "sla_plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    first_response_hours: Mapped[float | None]
    resolution_hours: Mapped[float]
    schedule_id: Mapped[int | None] = _fk("schedules.id", nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Minutes past its due time before a ticket is flagged overdue (its due time stays as shown).
    grace_minutes: Mapped[int] = mapped_column(default=0, server_default="0")


class Priority(Base):
    __tablename__ = "priorities"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    level: Mapped[int] = mapped_column(SmallInteger, unique=True)
    colour: Mapped[str] = mapped_column(String(7))
    is_default: Mapped[bool] = mapped_column(default=False)


class Status(Base):
    __tablename__ = "statuses"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    allows_reopen: Mapped[bool] = mapped_column(default=True)
    reopen_status_id: Mapped[int | None] = _fk("statuses.id", nullable=True)
    pauses_sla: Mapped[bool] = mapped_column(default=False)
    on_hold: Mapped[bool] = mapped_column(default=False)
    sort: Mapped[int] = mapped_column(SmallInteger, default=0)


class Organization(Base):
    __tablename__ = "organizations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    shares_tickets: Mapped[bool] = mapped_column(default=False)
    # Mail domains whose new end users join the organization by themselves, space-separated, lower-case.
    domains: Mapped[str | None] = mapped_column(String(500))


class Agent(Base):
    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    rights: Mapped[str] = mapped_column(String(255), default="")  # space-separated desk.domain.permissions.Right
    signature: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(SmallInteger, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    timezone: Mapped[str | None] = mapped_column(String(64))  # an IANA name; None: the help desk's
    # Away (vacation, out of office) on these days, both included: auto-assignment passes them over.
    away_from: Mapped[date | None] = mapped_column(Date)
    away_until: Mapped[date | None] = mapped_column(Date)


class Role(Base):
    __tablename__ = "roles"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    permissions: Mapped[list[RolePermission]] = relationship(lazy="raise", cascade="all, delete-orphan")


class RolePermission(Base):
    __tablename__ = "role_permissions"
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(32), primary_key=True)


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    manager_id: Mapped[int | None] = _fk("agents.id", nullable=True)
    sla_id: Mapped[int | None] = _fk("sla_plans.id", nullable=True)
    schedule_id: Mapped[int | None] = _fk("schedules.id", nullable=True)
    public: Mapped[bool] = mapped_column(default=True)
    signature: Mapped[str | None] = mapped_column(Text)  # under replies, when the agent chooses it
    # The mailbox its tickets' mail is sent from (None: one that brings mail to it, else the default one). A
    # cycle with mailboxes.department_id: created after both tables.
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="SET NULL", use_alter=True), nullable=True
    )
    # Mail notifications switched on or off here, over the global setting: {"auto_response": false, ...}
    mail_notifications: Mapped[dict[str, Any] | None]
    # Agents' replies and notes to its tickets are refused without the time spent (never mail or end users').
    time_required: Mapped[bool] = mapped_column(default=False)
    # Its tickets are not resolved or closed while a task of their checklist is still to do.
    tasks_required: Mapped[bool] = mapped_column(default=False)
    # Auto-assignment of its new unassigned tickets (desk.services.assignment): a desk.domain.enums.AssignMode,
    # only to agents in the business hours (its schedule, in each agent's own time zone), whom round-robin gave
    # the last one, and whether an agent's open tickets here go to another when they go away.
    assign_mode: Mapped[str] = mapped_column(String(16), default="off")
    assign_in_hours: Mapped[bool] = mapped_column(default=False)
    assign_last_id: Mapped[int | None]
    reassign_away: Mapped[bool] = mapped_column(default=False)
    # Escalations (desk.services.escalation): None off; else alert this many minutes before a due time and at
    # it, and at it raise the priority to / transfer to these (None: leave it).
    escalate_minutes: Mapped[int | None]
    escalate_priority_id: Mapped[int | None] = _fk("priorities.id", nullable=True, ondelete="SET NULL")
    escalate_to_id: Mapped[int | None] = _fk("departments.id", nullable=True, ondelete="SET NULL")


class AgentAccess(Base):
    """An agent's role in one department."""

    __tablename__ = "agent_access"
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[int] = _fk("roles.id")


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    lead_id: Mapped[int | None] = _fk("agents.id", nullable=True)
    # Auto-assignment among its members, as in Department (working hours: the ticket's department's schedule).
    assign_mode: Mapped[str] = mapped_column(String(16), default="off")
    assign_in_hours: Mapped[bool] = mapped_column(default=False)
    assign_last_id: Mapped[int | None]


class TeamMember(Base):
    __tablename__ = "team_members"
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True, index=True)


def _inserted_name_key(context: DefaultExecutionContext) -> str:
    return text_sort_key(context.get_current_parameters()["name"])  # type: ignore[no-untyped-call]


class User(Base):
    """An end user (requester); password only once they register for the Support Center."""

    __tablename__ = "users"
    # The directory pages through them by name (the key), and finds a name's or an address's prefix as one range.
    __table_args__ = (Index("ix_users_name_key", "name_key", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # desk.domain.queues.text_sort_key of the name (case and accents folded), as the queues sort requesters: set
    # with the name (`_keep_name_key`), and by an INSERT that leaves it out (the demo's and benchmarks' bulk loads).
    name_key: Mapped[str] = mapped_column(SortKeyString, server_default="", default=_inserted_name_key)
    email: Mapped[str] = mapped_column(AddressString, unique=True)  # stored lower-cased
    phone: Mapped[str | None] = mapped_column(String(40))
    organization_id: Mapped[int | None] = _fk("organizations.id", nullable=True, index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    banned: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(SmallInteger, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # Set when the user proved the address (a mailed link) or an administrator vouched for it; signing in needs it.
    email_confirmed_at: Mapped[datetime | None]


@event.listens_for(User.name, "set")
def _keep_name_key(user: User, name: str, _old: Any, _initiator: Any) -> None:
    """A user's name key follows their name on every ORM write (a bulk UPDATE of names would have to set it)."""
    user.name_key = text_sort_key(name)


class UserToken(Base):
    """A secret given to an end user, stored as its SHA-256: a Support Center session, or a mailed link that
    confirms an address, resets a password or opens one ticket. Links are single-use (`used_at`)."""

    __tablename__ = "user_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # desk.services.portal.Purpose
    user_id: Mapped[int] = _fk("users.id", ondelete="CASCADE", index=True)
    ticket_id: Mapped[int | None] = _fk("tickets.id", nullable=True, ondelete="CASCADE")  # a ticket link's one
    data: Mapped[dict[str, Any] | None]  # what the link carries (a registration's password hash)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ApiToken(Base):
    """A JSON API credential of one agent, acting with that agent's permissions; stored as its SHA-256."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = _fk("agents.id", ondelete="CASCADE", index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(12))  # the secret's first characters, to tell tokens apart
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AgentSession(Base):
    """An agent signed in to `desk serve` from their Desk: the secret is the bearer of every call, stored as its
    SHA-256. Ended by signing out, by an administrator, by expiry or by going idle; an inactive agent's sessions
    are refused at once."""

    __tablename__ = "agent_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = _fk("agents.id", ondelete="CASCADE", index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client: Mapped[str] = mapped_column(String(200))  # the machine and program, for "where am I signed in"
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class HelpTopic(Base):
    __tablename__ = "help_topics"
    __table_args__ = (CheckConstraint("assign_agent_id IS NULL OR assign_team_id IS NULL", name="one_assignee"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = _fk("help_topics.id", nullable=True)
    department_id: Mapped[int] = _fk("departments.id")
    priority_id: Mapped[int | None] = _fk("priorities.id", nullable=True)
    sla_id: Mapped[int | None] = _fk("sla_plans.id", nullable=True)
    assign_agent_id: Mapped[int | None] = _fk("agents.id", nullable=True)
    assign_team_id: Mapped[int | None] = _fk("teams.id", nullable=True)
    public: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    mail_notifications: Mapped[dict[str, Any] | None]  # over the department's, as in Department


# --- tickets ----------------------------------------------------------------------------------------------------

# Stored in tickets.due_at for "no deadline", so the column is never NULL and keyset paging needs no NULL rules.
NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)


class Ticket(Base):
    """A support ticket. `state`, `priority_level`, `due_at` and the `*_key` columns are copies kept for indexed
    queue sorting; the keys follow the subject and the names they copy by themselves (see `_keep_sort_keys`)."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_state_updated", "state", "updated_at", "id"),
        Index("ix_tickets_state_created", "state", "created_at", "id"),
        Index("ix_tickets_state_due", "state", "due_at", "id"),
        Index("ix_tickets_state_priority", "state", "priority_level", "id"),
        Index("ix_tickets_state_number", "state", "number"),
        Index("ix_tickets_assignee_state_updated", "assignee_id", "state", "updated_at", "id"),
        Index("ix_tickets_team", "team_id", "state", "updated_at"),
        Index("ix_tickets_department", "department_id", "state", "updated_at"),
        Index("ix_tickets_status", "status_id", "updated_at"),
        Index("ix_tickets_requester", "requester_id", "created_at"),
        Index("ix_tickets_state_overdue_due", "state", "overdue", "due_at"),
        Index("ix_tickets_created", "created_at"),  # reports: opened, closed and first answered in a period
        Index("ix_tickets_closed", "closed_at"),
        Index("ix_tickets_first_responded", "first_responded_at"),
        Index("ix_tickets_pending_until", "pending_until"),
        *(Index(f"ix_tickets_state_{key}", "state", key, "id") for key in SORT_KEY_COLUMNS),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    subject: Mapped[str] = mapped_column(String(255))
    requester_id: Mapped[int] = _fk("users.id")
    department_id: Mapped[int] = _fk("departments.id")
    topic_id: Mapped[int | None] = _fk("help_topics.id", nullable=True)
    priority_id: Mapped[int] = _fk("priorities.id")
    priority_level: Mapped[int] = mapped_column(SmallInteger)
    status_id: Mapped[int] = _fk("statuses.id")
    state: Mapped[str] = mapped_column(String(16))
    sla_id: Mapped[int | None] = _fk("sla_plans.id", nullable=True)
    assignee_id: Mapped[int | None] = _fk("agents.id", nullable=True)
    team_id: Mapped[int | None] = _fk("teams.id", nullable=True)
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    first_response_due: Mapped[datetime | None]
    resolution_due: Mapped[datetime | None]
    due_at: Mapped[datetime]  # the next deadline, or NO_DUE: never NULL, so keyset paging needs no NULL rules
    sla_paused_at: Mapped[datetime | None]
    first_responded_at: Mapped[datetime | None]
    answered: Mapped[bool] = mapped_column(default=False)
    overdue: Mapped[bool] = mapped_column(default=False)
    closed_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(default=0)
    last_message_at: Mapped[datetime | None]
    last_response_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = _fk("tickets.id", nullable=True, index=True)
    pending_until: Mapped[datetime | None]  # set with a Pending status: back to Open by itself then
    version: Mapped[int] = mapped_column(Integer)
    # desk.domain.queues.text_sort_key of the subject and of the requester's, assignee's, department's and
    # status's names ("" for no assignee)
    subject_key: Mapped[str] = mapped_column(SortKeyString, server_default="")
    requester_key: Mapped[str] = mapped_column(SortKeyString, server_default="")
    assignee_key: Mapped[str] = mapped_column(SortKeyString, server_default="")
    department_key: Mapped[str] = mapped_column(SortKeyString, server_default="")
    status_key: Mapped[str] = mapped_column(SortKeyString, server_default="")
    # Measured by the SLA clock for the reports (desk.services.sla), in business seconds: how long the ticket
    # was paused (Pending) or closed so far, how long its first reply and its resolution took with those pauses
    # left out, and whether each met its target (None: no target).
    paused_seconds: Mapped[int] = mapped_column(default=0, server_default="0")
    first_response_seconds: Mapped[int | None]
    first_response_met: Mapped[bool | None]
    resolution_seconds: Mapped[int | None]
    resolution_met: Mapped[bool | None]

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class ThreadEntry(Base):
    """A user message, agent reply or internal note. Insert-only but for edits, which keep the original."""

    __tablename__ = "thread_entries"
    __table_args__ = (
        Index("ix_thread_entries_ticket", "ticket_id", "created_at", "id"),
        Index("ix_thread_entries_agent", "agent_id", "created_at"),  # reports: an agent's replies and time
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = _fk("tickets.id", ondelete="CASCADE")
    kind: Mapped[str] = mapped_column(String(16))
    author_kind: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = _fk("agents.id", nullable=True)
    user_id: Mapped[int | None] = _fk("users.id", nullable=True)
    body_text: Mapped[str] = mapped_column(LongText)
    body_html: Mapped[str | None] = mapped_column(LongText)
    recipients: Mapped[Any] = mapped_column(JSONText(), nullable=True)
    created_at: Mapped[datetime]
    edited_at: Mapped[datetime | None]
    edited_by_id: Mapped[int | None] = _fk("agents.id", nullable=True)
    # The sender's idempotency key (a UUID made when Send was pressed): a send retried after a lost connection
    # finds its entry instead of adding a second one. A unique index, not a constraint, so that migrating SQLite
    # needs no table rebuild; NULLs (entries from mail intake, the web, the demo) never collide.
    client_key: Mapped[str | None] = mapped_column(String(36), index=True, unique=True)
    # Mail whose From nothing vouched for (see Mailbox.sender_check), posted as an ordinary message and shown so.
    sender_unverified: Mapped[bool] = mapped_column(default=False)
    # The minutes the agent spent, entered with a reply or note (None: none given). Reports group them by the
    # entry's ticket, agent and created_at.
    minutes: Mapped[int | None]


class EntryRevision(Base):
    """The text an entry had before an edit."""

    __tablename__ = "entry_revisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = _fk("thread_entries.id", ondelete="CASCADE", index=True)
    body_text: Mapped[str] = mapped_column(LongText)
    body_html: Mapped[str | None] = mapped_column(LongText)
    replaced_at: Mapped[datetime]
    replaced_by_id: Mapped[int | None] = _fk("agents.id", nullable=True)


class ThreadEvent(Base):
    __tablename__ = "thread_events"
    __table_args__ = (
        Index("ix_thread_events_ticket", "ticket_id", "created_at", "id"),
        Index("ix_thread_events_kind", "kind", "created_at"),  # reports: resolved, closed, reopened in a period
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = _fk("tickets.id", ondelete="CASCADE")
    kind: Mapped[str] = mapped_column(String(32))
    actor_kind: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = _fk("agents.id", nullable=True)
    user_id: Mapped[int | None] = _fk("users.id", nullable=True)
    data: Mapped[dict[str, Any]]
    note: Mapped[str | None] = mapped_column(Text)
    ticket_version: Mapped[int | None]  # the ticket's version this event produced: a Conflict lists those after yours
    created_at: Mapped[datetime]


class Blob(Base):
    """Attachment content, stored once per SHA-256."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LongBlob)


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = _fk("thread_entries.id", ondelete="CASCADE", index=True)
    sha256: Mapped[str] = _fk("blobs.sha256", index=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int]
    content_id: Mapped[str | None] = mapped_column(String(255))  # shown in place by the entry's `cid:` pictures


class Collaborator(Base):
    __tablename__ = "collaborators"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(8))


class Follower(Base):
    """An agent following a ticket they may see: mailed when the requester writes, listed in their Following queue.

    Keyed by ticket first (a ticket's followers, for its alerts); the agent's index lists what they follow.
    """

    __tablename__ = "followers"
    __table_args__ = (Index("ix_followers_agent", "agent_id", "ticket_id"),)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    since: Mapped[datetime]


class AgentAlert(Base):
    """An alert an agent chose to see in the window (desk.services.alerts): the tray tells of it, the bell lists it.

    Its text is rendered when it is raised (the ticket may change since, as a mail already sent does not)."""

    __tablename__ = "agent_alerts"
    __table_args__ = (
        Index("ix_agent_alerts_agent", "agent_id", "id"),
        Index("ix_agent_alerts_unread", "agent_id", "read_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))  # a mail template's kind: "alert.assigned"…
    ticket_id: Mapped[int] = _fk("tickets.id", ondelete="CASCADE", index=True)
    text: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]  # None: not read yet


class AgentAlertChoice(Base):
    """How an agent wants one kind of alert: by mail, in the window, both or neither (no row: both)."""

    __tablename__ = "alert_choices"
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    mail: Mapped[bool] = mapped_column(Boolean)
    window: Mapped[bool] = mapped_column(Boolean)


class TicketTask(Base):
    """One item of a ticket's checklist: something to do, by whom and when, ticked off when done."""

    __tablename__ = "ticket_tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = _fk("tickets.id", ondelete="CASCADE", index=True)
    text: Mapped[str] = mapped_column(String(500))
    assignee_id: Mapped[int | None] = _fk("agents.id", nullable=True, ondelete="SET NULL")
    due_on: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = _fk("agents.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime]


class Escalation(Base):
    """An escalation that fired: one per ticket, stage and due time, so that no two workers fire it twice."""

    __tablename__ = "escalations"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(8), primary_key=True)  # desk.domain.enums.EscalationStage
    due_at: Mapped[datetime] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]


class TicketLink(Base):
    """A link between two related tickets, stored once with the lower id first."""

    __tablename__ = "ticket_links"
    __table_args__ = (CheckConstraint("ticket_id < linked_id", name="ordered"),)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    linked_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, index=True)


class TicketLock(Base):
    __tablename__ = "ticket_locks"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[int] = _fk("agents.id")
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
        Index("ix_feedback_created", "created_at"),
    )
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = _fk("users.id")
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class TicketTally(Base):
    """How many tickets share one combination of the fields queues filter on; kept by `storage.tallies`.

    Sidebar counts sum these few hundred rows instead of counting a million tickets. 0 stands for "none"
    so that the combination can be a primary key on every engine.
    """

    __tablename__ = "ticket_tallies"
    department_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    status_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    assignee_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    team_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    answered: Mapped[bool] = mapped_column(primary_key=True)
    overdue: Mapped[bool] = mapped_column(primary_key=True)
    count: Mapped[int]


class SearchDocument(Base):
    """The searchable text of one ticket: number, subject, requester and every thread entry.

    Indexed by FTS5 (SQLite, `ticket_fts` below), a GIN expression index (PostgreSQL) or FULLTEXT (MariaDB).
    """

    __tablename__ = "search_documents"
    __table_args__ = (
        Index(
            "ix_search_documents_tsv",
            text("to_tsvector('simple', content)"),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
        Index("ix_search_documents_fulltext", "content", mysql_prefix="FULLTEXT", mariadb_prefix="FULLTEXT").ddl_if(
            dialect=("mysql", "mariadb")  # type: ignore[arg-type]  # SQLAlchemy accepts a tuple; its stub says str
        ),
    )
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    content: Mapped[str] = mapped_column(SearchText)


class Change(Base):
    """The change feed: one row per committed change to a ticket, read by every client to refresh."""

    __tablename__ = "changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(index=True)  # no FK: the feed outlives deleted tickets
    aspect: Mapped[str] = mapped_column(String(32))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None]
    created_at: Mapped[datetime]
    # For one agent only (their alerts: desk.services.alerts), with no ticket; None: whoever may see the ticket.
    agent_id: Mapped[int | None]


class SavedSearch(Base):
    __tablename__ = "saved_searches"
    __table_args__ = (UniqueConstraint("agent_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = _fk("agents.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(String(120))
    criteria: Mapped[dict[str, Any]]


# --- mail and the worker ----------------------------------------------------------------------------------------


class Mailbox(Base):
    """A support address: fetched over IMAP into tickets, and the account outgoing mail is sent from."""

    __tablename__ = "mailboxes"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    address: Mapped[str] = mapped_column(String(254), unique=True)  # lower-cased
    department_id: Mapped[int | None] = _fk("departments.id", nullable=True)
    topic_id: Mapped[int | None] = _fk("help_topics.id", nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    imap_host: Mapped[str | None] = mapped_column(String(255))
    imap_port: Mapped[int | None]
    imap_security: Mapped[str] = mapped_column(String(8), default="tls")  # tls | starttls | none
    imap_user: Mapped[str | None] = mapped_column(String(254))
    imap_secret: Mapped[str | None] = mapped_column(Text)  # encrypted (desk.storage.secrets), never the password
    folder: Mapped[str] = mapped_column(String(255), default="INBOX")
    after_fetch: Mapped[str] = mapped_column(String(8), default="seen")  # seen | move | delete
    move_to: Mapped[str | None] = mapped_column(String(255))
    smtp_host: Mapped[str | None] = mapped_column(String(255))
    smtp_port: Mapped[int | None]
    smtp_security: Mapped[str] = mapped_column(String(8), default="starttls")
    smtp_user: Mapped[str | None] = mapped_column(String(254))
    smtp_secret: Mapped[str | None] = mapped_column(Text)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_fetch_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(default=0)  # consecutive failed fetches
    alerted: Mapped[bool] = mapped_column(default=False)  # administrators were mailed about this failure streak
    sender_check: Mapped[str] = mapped_column(String(8), default="required")  # desk.domain.enums.SenderCheck
    auth_server: Mapped[str | None] = mapped_column(String(255))  # the authserv-id of the receiving server
    # OAuth2 instead of passwords (desk.domain.oauth): provider key, client id, issuer (tenant or address); the
    # client secret and the tokens sealed together as JSON (desk.services.mail.oauth).
    oauth_provider: Mapped[str | None] = mapped_column(String(16))
    oauth_client_id: Mapped[str | None] = mapped_column(String(255))
    oauth_issuer: Mapped[str | None] = mapped_column(String(255))
    oauth_secret: Mapped[str | None] = mapped_column(Text)


class InboundMessage(Base):
    """A fetched message, stored raw before it is parsed; kept after, as the record of what arrived."""

    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_messages_state", "state", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int | None] = _fk("mailboxes.id", nullable=True, ondelete="SET NULL")
    uid: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(MessageIdString, unique=True)
    raw: Mapped[bytes] = mapped_column(LongBlob)
    size: Mapped[int]
    received_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))  # desk.domain.enums.InboundState
    reason: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = _fk("tickets.id", nullable=True, ondelete="SET NULL", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    processed_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """A mail to send, written in the transaction of the reply or event it tells about; sent by the worker."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = _fk("tickets.id", nullable=True, ondelete="CASCADE", index=True)
    entry_id: Mapped[int | None] = _fk("thread_entries.id", nullable=True, ondelete="SET NULL")
    mailbox_id: Mapped[int | None] = _fk("mailboxes.id", nullable=True, ondelete="SET NULL")
    kind: Mapped[str] = mapped_column(String(32))  # the template
    recipients: Mapped[dict[str, Any]]  # {"to": [...], "cc": [...], "bcc": [...]}
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(LongText)
    body_html: Mapped[str | None] = mapped_column(LongText)
    message_id: Mapped[str] = mapped_column(MessageIdString, unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    reference_ids: Mapped[str | None] = mapped_column(Text)  # the References header
    state: Mapped[str] = mapped_column(String(16))  # desk.domain.enums.OutboxState
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class WorkerJob(Base):
    """A worker job's lease (one worker runs it at a time) and what its last run did, for administrators."""

    __tablename__ = "worker_jobs"
    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(120))
    expires_at: Mapped[datetime | None]
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_result: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)

    def is_held(self, moment: datetime) -> bool:
        """Whether a worker's lease on the job is alive at this moment."""
        return self.holder is not None and self.expires_at is not None and self.expires_at > moment


class LoginAudit(Base):
    __tablename__ = "login_audit"
    __table_args__ = (Index("ix_login_audit_principal", "principal_kind", "principal", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    principal_kind: Mapped[str] = mapped_column(String(16))
    principal: Mapped[str] = mapped_column(String(254))
    success: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))  # where the attempt came from (None: this machine)


class CannedResponse(Base):
    """A reply an agent inserts in the composer: shared by every department, one department's, or one agent's own."""

    __tablename__ = "canned_responses"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    department_id: Mapped[int | None] = _fk("departments.id", nullable=True, ondelete="CASCADE", index=True)
    agent_id: Mapped[int | None] = _fk("agents.id", nullable=True, ondelete="CASCADE", index=True)  # theirs alone
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime]


class Rule(Base):
    """An administrator's rule (desk.domain.rules), run in `position` order on the events it names. `error` and
    `failed_at`: why it failed last, and since when (cleared when it next runs well or is saved)."""

    __tablename__ = "rules"
    __table_args__ = (Index("ix_rules_enabled_position", "enabled", "position", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    position: Mapped[int]
    enabled: Mapped[bool] = mapped_column(default=True)
    match_all: Mapped[bool] = mapped_column(default=True)
    on_new_ticket: Mapped[bool] = mapped_column(default=True)
    on_message: Mapped[bool] = mapped_column(default=False)
    on_change: Mapped[bool] = mapped_column(default=False)
    conditions: Mapped[Any] = mapped_column(JSONText())  # [{"field", "op", "value"}]
    actions: Mapped[Any] = mapped_column(JSONText())  # [{"kind", "target_id", "text"}]
    error: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class Macro(Base):
    """A set of changes an agent applies to a ticket in one action: shared by every department, one department's,
    or one agent's own. `actions` is desk.domain.macros.MacroActions as JSON: the rows it names are checked when it
    is applied, so a status or team deleted since makes it refuse with a message rather than block the deletion."""

    __tablename__ = "macros"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    department_id: Mapped[int | None] = _fk("departments.id", nullable=True, ondelete="CASCADE", index=True)
    agent_id: Mapped[int | None] = _fk("agents.id", nullable=True, ondelete="CASCADE", index=True)  # theirs alone
    active: Mapped[bool] = mapped_column(default=True)
    actions: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class AdminAudit(Base):
    """One administrative change: who, when, what (a kind of thing and its name) and each field's before → after."""

    __tablename__ = "admin_audit"
    __table_args__ = (Index("ix_admin_audit_kind", "kind", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    agent_id: Mapped[int | None] = _fk("agents.id", nullable=True, ondelete="SET NULL")
    actor: Mapped[str] = mapped_column(String(120))  # the name at the time (the system, or an agent renamed since)
    action: Mapped[str] = mapped_column(String(16))  # desk.domain.staff.AuditAction
    kind: Mapped[str] = mapped_column(String(32))  # desk.domain.staff.AuditKind
    target_id: Mapped[int | None]
    target: Mapped[str] = mapped_column(String(200))
    changes: Mapped[dict[str, Any]]  # {field: [before, after]} as shown to people


# SQLite's full-text index: an FTS5 table over search_documents, kept in step by triggers.
SQLITE_FTS_DDL = (
    "CREATE VIRTUAL TABLE ticket_fts USING fts5(content, content='search_documents', content_rowid='ticket_id')",
    "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
    "INSERT INTO ticket_fts(rowid, content) VALUES (new.ticket_id, new.content); END",
    "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
    "INSERT INTO ticket_fts(ticket_fts, rowid, content) VALUES ('delete', old.ticket_id, old.content); END",
    "CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN "
    "INSERT INTO ticket_fts(ticket_fts, rowid, content) VALUES ('delete', old.ticket_id, old.content); "
    "INSERT INTO ticket_fts(rowid, content) VALUES (new.ticket_id, new.content); END",
)
for _statement in SQLITE_FTS_DDL:
    event.listen(SearchDocument.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))  # type: ignore[no-untyped-call]


# --- queue sort keys ------------------------------------------------------------------------------------------

# Which named row each sort key copies: (the ticket's reference, the named table's model, the key column).
_NAMED_KEYS: tuple[tuple[str, type[Base], str], ...] = (
    ("requester_id", User, "requester_key"),
    ("assignee_id", Agent, "assignee_key"),
    ("department_id", Department, "department_key"),
    ("status_id", Status, "status_key"),
)


def ticket_sort_keys(
    subject: str, requester: str, assignee: str | None, department: str, status: str
) -> dict[str, str]:
    """A ticket's sort key columns, for rows written without the ORM (the demo's bulk load, the migration)."""
    return {
        "subject_key": text_sort_key(subject),
        "requester_key": text_sort_key(requester),
        "assignee_key": text_sort_key(assignee),
        "department_key": text_sort_key(department),
        "status_key": text_sort_key(status),
    }


@event.listens_for(Session, "before_flush")
def _keep_sort_keys(session: Session, _context: Any, _instances: Any) -> None:
    """Every ORM write keeps the keys right: a ticket's when its subject or a reference changes, and every ticket's
    copy of a name when a requester, agent, department or status is renamed."""
    with session.no_autoflush:
        for row in (*session.new, *session.dirty):
            state = inspect(row)
            changed = state.pending or state.modified
            if isinstance(row, Ticket) and changed:
                if state.pending or state.attrs.subject.history.has_changes():
                    row.subject_key = text_sort_key(row.subject)
                for reference, model, key in _NAMED_KEYS:
                    if state.pending or state.attrs[reference].history.has_changes():
                        named = session.get(model, getattr(row, reference)) if getattr(row, reference) else None
                        setattr(row, key, text_sort_key(getattr(named, "name", None)))
            elif state.persistent and changed and "name" in state.attrs and state.attrs.name.history.has_changes():
                for reference, model, key in _NAMED_KEYS:
                    if isinstance(row, model):
                        session.execute(
                            update(Ticket)
                            .where(getattr(Ticket, reference) == state.identity[0])
                            .values({key: text_sort_key(state.attrs.name.value)})
                            .execution_options(synchronize_session=False)
                        )
