"""Queues, sidebar counts, saved searches and full-text search, as the actor may see them.

Pages use keyset pagination on (sort key, id) over indexed columns, so page 1,000 costs what page 1 does;
counts come from the ticket tallies, a few hundred rows whatever the number of tickets, except Following's: who
follows a ticket is not among the fields the tallies count by, so it is counted from the agent's followers rows
(an index range of the tickets they follow, each joined to its ticket by key).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence as Seq
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    SmallInteger,
    and_,
    any_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from desk.domain import inputs
from desk.domain.enums import Queue, SortKey, StatusState
from desk.domain.errors import Invalid, NotFound
from desk.domain.permissions import Actor, AgentActor
from desk.domain.queues import Criteria
from desk.domain.textsearch import parse_query
from desk.domain.views import ExportPage, QueuePage, QueueRow
from desk.services.base import agent_sees, command, query, require_agent, visible_to
from desk.storage import search
from desk.storage.models import (
    NO_DUE,
    Agent,
    Department,
    Follower,
    Priority,
    SavedSearch,
    Status,
    Team,
    Ticket,
    TicketTally,
    User,
)

PAGE_SIZE = 50
MAX_PAGE = 500
EXPORT_PAGE = 5000  # an export's page: big, as nobody waits for it on screen, and bounded, so memory stays flat
MAX_IDS = 100_000
MAX_SKIP = 10_000_000  # ten times the largest queue Desk is built for
SEARCH_LIMIT = 1000  # full-text matches taken into a filtered queue

# Whether an agent's visibility is restricted, and by departments and by teams: statements built once per shape
# take the agent's own values from `_agent_params`, written into the SQL at execution (`_agent_value`).
Shape = tuple[bool, bool, bool]
_ALL: Shape = (False, False, False)  # an agent who sees every ticket
AnySelect = Select[*tuple[Any, ...]]

_SORT_COLUMNS: dict[SortKey, Any] = {
    SortKey.NUMBER: Ticket.number,
    SortKey.CREATED: Ticket.created_at,
    SortKey.UPDATED: Ticket.updated_at,
    SortKey.DUE: Ticket.due_at,
    SortKey.PRIORITY: Ticket.priority_level,
    SortKey.SUBJECT: Ticket.subject_key,
    SortKey.REQUESTER: Ticket.requester_key,
    SortKey.ASSIGNEE: Ticket.assignee_key,
    SortKey.DEPARTMENT: Ticket.department_key,
    SortKey.STATUS: Ticket.status_key,
}


def _written(value: str) -> ColumnElement[str]:
    """A constant written into the SQL rather than bound: PostgreSQL then plans a queue's page once and keeps the
    plan (with the state bound it judged its generic plan worse and planned every call anew, ~3 ms of 4)."""
    return literal(value, literal_execute=True)


def _queue_condition(queue: Queue, me: Any, teams: Any, *, tallies: bool = False) -> ColumnElement[bool]:
    """`desk.domain.queues.in_queue` in SQL for agent `me` of `teams` (values, or bound parameters of a statement
    built once), over tickets or over the tallies joined to their status (where 0 stands for no assignee).
    Following has no condition over the tallies (`_following_count` counts it)."""
    if queue == Queue.FOLLOWING and tallies:
        raise AssertionError("the tallies do not know who follows a ticket")
    row: Any = TicketTally if tallies else Ticket
    state = Status.state if tallies else Ticket.state
    if queue == Queue.CLOSED:
        return state == _written(StatusState.CLOSED.value)
    is_open = state == _written(StatusState.OPEN.value)
    extra: dict[Queue, ColumnElement[bool] | None] = {
        Queue.OPEN: None,
        Queue.UNANSWERED: row.answered.is_(False),
        Queue.ANSWERED: row.answered.is_(True),
        Queue.MINE: row.assignee_id == me,
        Queue.MY_TEAMS: row.team_id.in_(teams),
        # A join (the followers row of each ticket) rather than IN (subquery): SQLite then starts from the agent's
        # followers rows, where with the IN it walked every open ticket in the queue's order and tested each.
        Queue.FOLLOWING: and_(Follower.ticket_id == Ticket.id, Follower.agent_id == me),
        Queue.UNASSIGNED: TicketTally.assignee_id == 0 if tallies else Ticket.assignee_id.is_(None),
        Queue.OVERDUE: row.overdue.is_(True),
        Queue.ON_HOLD: Status.on_hold.is_(True)
        if tallies
        else Ticket.status_id.in_(select(Status.id).where(Status.on_hold.is_(True))),
    }
    condition = extra[queue]
    return is_open if condition is None else and_(is_open, condition)


def _conditions(session: Session, agent: AgentActor, criteria: Criteria) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    visible = visible_to(agent)
    if visible is not None:
        conditions.append(visible)
    if criteria.queue is not None:
        conditions.append(_queue_condition(criteria.queue, agent.id, sorted(agent.teams)))
    for column, values in (
        (Ticket.status_id, criteria.status_ids),
        (Ticket.department_id, criteria.department_ids),
        (Ticket.priority_id, criteria.priority_ids),
        (Ticket.team_id, criteria.team_ids),
        (Ticket.topic_id, criteria.topic_ids),
        (Ticket.source, [source.value for source in criteria.sources]),
        (Ticket.id, criteria.ticket_ids),
    ):
        if values:
            conditions.append(column.in_(list(values)))
    if criteria.assignee_ids and criteria.unassigned:
        conditions.append(Ticket.assignee_id.in_(list(criteria.assignee_ids)) | Ticket.assignee_id.is_(None))
    elif criteria.assignee_ids:
        conditions.append(Ticket.assignee_id.in_(list(criteria.assignee_ids)))
    elif criteria.unassigned:
        conditions.append(Ticket.assignee_id.is_(None))
    for moment, low, high in (
        (Ticket.created_at, criteria.created_from, criteria.created_to),
        (Ticket.updated_at, criteria.updated_from, criteria.updated_to),
        (Ticket.due_at, criteria.due_from, criteria.due_to),
        (Ticket.closed_at, criteria.closed_from, criteria.closed_to),
        (Ticket.first_responded_at, criteria.responded_from, criteria.responded_to),
    ):
        if low is not None:
            conditions.append(moment >= low)
        if high is not None:
            conditions.append(moment < high)
    if criteria.text.strip():
        ids = search.search_ticket_ids(session, parse_query(criteria.text), and_(true(), *conditions), SEARCH_LIMIT)
        conditions.append(Ticket.id.in_(ids))
    return conditions


def decode_cursor(cursor: str, column: Any) -> tuple[Any, int]:
    """(value, ticket id) of a cursor for pages sorted on this column, checked against the column's type."""
    sql_type = column.type
    bits = 16 if isinstance(sql_type, SmallInteger) else 64 if isinstance(sql_type, BigInteger) else 32
    return inputs.decode_cursor(cursor, sql_type.python_type, bits=bits)


# A queue row's columns, and the joins that give them, from a ticket.
_ROW_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.subject,
    Ticket.priority_level,
    Ticket.state,
    Ticket.due_at,
    Ticket.overdue,
    Ticket.answered,
    Ticket.created_at,
    Ticket.updated_at,
    User.name,
    User.email,
    Priority.name,
    Priority.colour,
    Agent.name,
    Team.name,
    Department.name,
    Status.name,
    Ticket.pending_until,
)


# An exported ticket's columns (desk.domain.views.ExportRow), from the same joins: only what the file holds, as
# plain tuples, which reads pages about twice as fast as queue rows do.
_EXPORT_COLUMNS = (
    Ticket.number,
    Ticket.subject,
    User.name,
    User.email,
    Priority.name,
    Status.name,
    Department.name,
    Agent.name,
    Team.name,
    func.nullif(Ticket.due_at, NO_DUE, type_=Ticket.due_at.type).label("due"),
    Ticket.overdue,
    Ticket.created_at,
    Ticket.updated_at,
)


def _with_row_joins(statement: AnySelect) -> AnySelect:
    return (
        statement.join(User, User.id == Ticket.requester_id)
        .join(Priority, Priority.id == Ticket.priority_id)
        .join(Department, Department.id == Ticket.department_id)
        .join(Status, Status.id == Ticket.status_id)
        .outerjoin(Agent, Agent.id == Ticket.assignee_id)
        .outerjoin(Team, Team.id == Ticket.team_id)
    )


@functools.cache
def _rows_statement(array: bool, shape: Shape) -> AnySelect:
    """Queue rows by id, of the tickets an agent of this shape may see (with `_agent_params`).

    Built once: constructing an 19-column, 7-table select costs more than running it on SQLite. PostgreSQL takes
    the ids as one array (`array`): with an IN list of as many parameters it planned each call anew (~2 ms) and
    chose a hash join over every user."""
    ids = bindparam("ids", type_=postgresql.ARRAY(Integer)) if array else bindparam("ids", expanding=True)
    statement = _with_row_joins(select(*_ROW_COLUMNS)).where(Ticket.id == any_(ids) if array else Ticket.id.in_(ids))
    visible = _bound_sees(shape, (Ticket.assignee_id, Ticket.department_id, Ticket.team_id))
    return statement if visible is None else statement.where(visible)


def _queue_row(row: Any) -> QueueRow:
    (ticket_id, number, subject, level, state, due, overdue, answered, created, updated) = row[:10]
    name, email, priority, colour, assignee, team, department, status = row[10:18]
    return QueueRow(
        id=ticket_id,
        number=number,
        subject=subject,
        requester=name,
        requester_email=email,
        priority=priority,
        priority_level=level,
        priority_colour=colour,
        assignee=assignee,
        team=team,
        department=department,
        status=status,
        status_state=StatusState(state),
        due=None if due == NO_DUE else due,
        overdue=overdue,
        answered=answered,
        created_at=created,
        updated_at=updated,
        pending_until=row[18],
    )


def rows_for(session: Session, ids: Seq[int], agent: AgentActor | None = None) -> list[QueueRow]:
    """Queue rows for these ids, in the order given; only those `agent` may see (None: all of them)."""
    if not ids:
        return []
    # On the connection, as plain rows: the session's execute adds ORM handling they do not need.
    connection = session.connection()
    shape = _shape(agent) if agent is not None else _ALL
    params = _agent_params(agent) if agent is not None else {}
    statement = _rows_statement(connection.dialect.name == "postgresql", shape)
    found = {row[0]: _queue_row(row) for row in connection.execute(statement, params | {"ids": list(ids)})}
    return [found[i] for i in ids if i in found]


@query
def rows_for_ids(session: Session, actor: Actor, ids: Seq[int]) -> list[QueueRow]:
    """Rows for tickets already listed (a view's page cache), in the order given, leaving out any now hidden."""
    return rows_for(session, ids, require_agent(actor))


@query
def queue_page(
    session: Session,
    actor: Actor,
    criteria: Criteria,
    *,
    sort: SortKey = SortKey.UPDATED,
    descending: bool = True,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> QueuePage:
    """One page of a queue or saved search in a stable order, with the total; pass `next_cursor` for the next."""
    agent = require_agent(actor)
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"A page holds 1 to {MAX_PAGE} tickets.")
    found, more, conditions = _walk(session, agent, criteria, sort, descending, cursor, limit, ids_only=False)
    total = _count(session, agent, criteria, conditions)
    next_cursor = inputs.encode_cursor(found[-1][-1], found[-1][0]) if more and found else None
    return QueuePage(rows=tuple(_queue_row(row) for row in found), total=total, next_cursor=next_cursor)


@query
def export_page(
    session: Session,
    actor: Actor,
    criteria: Criteria,
    *,
    sort: SortKey = SortKey.UPDATED,
    descending: bool = True,
    cursor: str | None = None,
    limit: int = EXPORT_PAGE,
) -> ExportPage:
    """A page of a queue or saved search being exported, in the queue's order: up to EXPORT_PAGE tickets of only
    the exported columns, the total counted for the first page only (a filter's count walks every ticket it holds,
    and an export reads every page anyway)."""
    agent = require_agent(actor)
    if not 1 <= limit <= EXPORT_PAGE:
        raise Invalid(f"An export's page holds 1 to {EXPORT_PAGE:,} tickets.")
    found, more, conditions = _walk(
        session, agent, criteria, sort, descending, cursor, limit, ids_only=False, exported=True
    )
    total = _count(session, agent, criteria, conditions) if cursor is None else -1
    next_cursor = inputs.encode_cursor(found[-1][-1], found[-1][-2]) if more and found else None
    return ExportPage(rows=tuple(row[:-2] for row in found), total=total, next_cursor=next_cursor)


@functools.cache
def _export_rows_statement() -> AnySelect:
    return _with_row_joins(select(*_EXPORT_COLUMNS, Ticket.id)).where(Ticket.id.in_(bindparam("ids", expanding=True)))


@query
def export_search(session: Session, actor: Actor, text: str) -> ExportPage:
    """A search's best matches being exported: those `search_tickets` lists, in its order, as exported rows."""
    ids = _search_ids(session, require_agent(actor), text, MAX_PAGE)
    found = {row[-1]: row[:-1] for row in session.connection().execute(_export_rows_statement(), {"ids": ids})}
    rows = tuple(found[i] for i in ids if i in found)
    return ExportPage(rows=rows, total=len(rows), next_cursor=None)


@query
def queue_ids(
    session: Session,
    actor: Actor,
    criteria: Criteria,
    *,
    sort: SortKey = SortKey.UPDATED,
    descending: bool = True,
    cursor: str | None = None,
    skip: int = 0,
    limit: int = MAX_IDS,
) -> tuple[list[int], str | None]:
    """A queue's ticket ids in its order, a chunk at a time, and the cursor of the next chunk (None at the end).

    The chunk starts after the cursor (or at the start), `skip` tickets further: the agent window's table asks for
    the ids around the rows it shows, continuing from a neighbour's cursor, or by position when the agent jumps
    (the index is walked up to there, so a jump costs what the skipped ids do). The cursor is a `queue_page`
    cursor, so pages and chunks continue each other.
    """
    agent = require_agent(actor)
    if not 1 <= limit <= MAX_IDS:
        raise Invalid(f"A chunk holds 1 to {MAX_IDS:,} ids.")
    if not 0 <= skip <= MAX_SKIP:
        raise Invalid(f"A chunk starts 0 to {MAX_SKIP:,} tickets into the queue.")
    found, more, _ = _walk(session, agent, criteria, sort, descending, cursor, limit, ids_only=True, skip=skip)
    next_cursor = inputs.encode_cursor(found[-1][0], found[-1][1]) if more and found else None
    return [row[1] for row in found], next_cursor


def _walk(
    session: Session,
    agent: AgentActor,
    criteria: Criteria,
    sort: SortKey,
    descending: bool,
    cursor: str | None,
    limit: int,
    *,
    ids_only: bool,
    skip: int = 0,
    exported: bool = False,
) -> tuple[Seq[Any], bool, list[ColumnElement[bool]]]:
    """The `limit` tickets after the cursor (and `skip` more, for ids): queue rows (or (sort value, id) pairs),
    whether more follow, and the conditions used (none for a plain queue, whose statement binds the agent's values
    instead)."""
    with_cursor, with_skip = cursor is not None, skip > 0
    conditions: list[ColumnElement[bool]] = []
    if _none_of_mine(agent, criteria):
        return [], False, conditions
    if criteria.is_plain_queue and criteria.queue is not None:
        # The common case, built once per shape: building the statement costs more than running it on SQLite.
        if ids_only:
            statement = _plain_ids(criteria.queue, _shape(agent), sort, descending, with_cursor, with_skip)
        else:
            statement = _plain_page(criteria.queue, _shape(agent), sort, descending, with_cursor, exported)
    else:
        conditions = _conditions(session, agent, criteria)
        if ids_only:
            statement = _ids_statement(conditions, sort, descending, with_cursor, with_skip)
        else:
            statement = _page_statement(conditions, sort, descending, with_cursor, exported)
    params = _agent_params(agent) | {"page_limit": limit + 1, "page_skip": skip}
    if cursor is not None:
        params["after_value"], params["after_id"] = decode_cursor(cursor, _SORT_COLUMNS[sort])
    found = session.connection().execute(statement, params).all()  # plain rows: no ORM handling needed
    return found[:limit], len(found) > limit, conditions


def keyset_after(column: Any, value: Any, last_id: Any, *, descending: bool) -> ColumnElement[bool]:
    """Tickets after (value, last_id) in (column, id) order.

    Spelled so that MariaDB can range-scan the index: it cannot for a row-value (a, b) < (x, y) comparison, and
    PostgreSQL cannot for the plain OR form.
    """
    if descending:
        return and_(column <= value, or_(column < value, Ticket.id < last_id))
    return and_(column >= value, or_(column > value, Ticket.id > last_id))


def _ids_statement(
    conditions: Seq[ColumnElement[bool]], sort: SortKey, descending: bool, with_cursor: bool, with_skip: bool = False
) -> AnySelect:
    """(sort_value, ticket_id) of `page_limit` tickets after (`after_value`, `after_id`), in the queue's order."""
    column = _SORT_COLUMNS[sort]
    page_query = select(column.label("sort_value"), Ticket.id.label("ticket_id")).where(*conditions)
    if with_cursor:
        value, last_id = bindparam("after_value", type_=column.type), bindparam("after_id", type_=Integer)
        page_query = page_query.where(keyset_after(column, value, last_id, descending=descending))
    order = (column.desc(), Ticket.id.desc()) if descending else (column.asc(), Ticket.id.asc())
    # The limit is written into the SQL: PostgreSQL cannot plan a bound LIMIT once for all calls (it planned the
    # page anew on every call, 10-14 ms of planning for 0.8 ms of execution); a number lets it keep one plan.
    page_query = page_query.order_by(*order).limit(bindparam("page_limit", type_=Integer, literal_execute=True))
    return page_query.offset(bindparam("page_skip", type_=Integer, literal_execute=True)) if with_skip else page_query


def _page_statement(
    conditions: Seq[ColumnElement[bool]], sort: SortKey, descending: bool, with_cursor: bool, exported: bool = False
) -> AnySelect:
    """A page's rows (exported: its exported columns, then each ticket's id), then each row's sort value:
    `page_limit` tickets after (`after_value`, `after_id`)."""
    # The page is found on the index alone, then joined to its rows' columns in the same statement (planning one
    # 7-table join together with the ORDER BY takes PostgreSQL ~40 ms).
    page = _ids_statement(conditions, sort, descending, with_cursor).subquery("page")
    outer = (page.c.sort_value.desc(), page.c.ticket_id.desc()) if descending else (page.c.sort_value, page.c.ticket_id)
    columns = (*_EXPORT_COLUMNS, page.c.ticket_id) if exported else _ROW_COLUMNS
    joined: AnySelect = (
        select(*columns, page.c.sort_value).select_from(page).join(Ticket, Ticket.id == page.c.ticket_id)
    )
    return _with_row_joins(joined).order_by(*outer)


def _shape(agent: AgentActor) -> Shape:
    return (not agent.is_admin, bool(agent.departments), bool(agent.teams))


def _agent_params(agent: AgentActor) -> dict[str, Any]:
    return {"me": agent.id, "my_departments": sorted(agent.departments), "my_teams": sorted(agent.teams)}


def _agent_value(name: str, *, many: bool = False) -> Any:
    """One of `_agent_params`, written into the SQL when the statement runs, like the constants of `_written`: with
    them bound, PostgreSQL judged a limited agent's generic plan dearer than the plans made for the values and
    planned pages such as Unanswered or Overdue anew on every call (~4 ms of planning for 0.5 ms of execution).
    Safe to write in: they are integers (the agent's id, department and team ids) from the signed-in session on the
    server, never text anyone typed."""
    return bindparam(name, type_=Integer, expanding=many, literal_execute=True)


def _bound_sees(shape: Shape, columns: tuple[Any, Any, Any]) -> ColumnElement[bool] | None:
    """`visible_to` over these (assignee, department, team) columns, with the agent's values of `_agent_params`."""
    restricted, departments, teams = shape
    if not restricted:
        return None
    return agent_sees(
        columns,
        _agent_value("me"),
        _agent_value("my_departments", many=True) if departments else None,
        _agent_value("my_teams", many=True) if teams else None,
    )


def _plain_conditions(queue: Queue, shape: Shape) -> list[ColumnElement[bool]]:
    """A plain queue's conditions, with the agent's values of `_agent_params`."""
    visible = _bound_sees(shape, (Ticket.assignee_id, Ticket.department_id, Ticket.team_id))
    condition = _queue_condition(queue, _agent_value("me"), _agent_value("my_teams", many=True))
    return [c for c in (visible, condition) if c is not None]


@functools.cache
def _plain_page(
    queue: Queue, shape: Shape, sort: SortKey, descending: bool, with_cursor: bool, exported: bool = False
) -> AnySelect:
    return _page_statement(_plain_conditions(queue, shape), sort, descending, with_cursor, exported)


@functools.cache
def _plain_ids(
    queue: Queue, shape: Shape, sort: SortKey, descending: bool, with_cursor: bool, with_skip: bool
) -> AnySelect:
    return _ids_statement(_plain_conditions(queue, shape), sort, descending, with_cursor, with_skip)


def _none_of_mine(agent: AgentActor, criteria: Criteria) -> bool:
    """My teams for an agent in no team: empty, known without a query (an IN over no teams made SQLite walk every
    open ticket to find none)."""
    return criteria.queue == Queue.MY_TEAMS and not agent.teams


def _count(session: Session, agent: AgentActor, criteria: Criteria, conditions: list[ColumnElement[bool]]) -> int:
    if _none_of_mine(agent, criteria):
        return 0
    if criteria.is_plain_queue and criteria.queue is not None:
        return _tally_counts(session, agent, (criteria.queue,))[criteria.queue]
    return session.scalar(select(func.count()).select_from(Ticket).where(*conditions)) or 0


@functools.cache
def _tally_statement(wanted: tuple[Queue, ...], shape: Shape) -> AnySelect:
    """The counts of the `wanted` queues, summed by the engine from the tallies the agent may see, in one row."""
    me, teams = _agent_value("me"), _agent_value("my_teams", many=True)
    sums = [
        func.coalesce(func.sum(case((_queue_condition(q, me, teams, tallies=True), TicketTally.count), else_=0)), 0)
        for q in wanted
    ]
    statement = select(*sums).select_from(TicketTally).join(Status, Status.id == TicketTally.status_id)
    visible = _bound_sees(shape, (TicketTally.assignee_id, TicketTally.department_id, TicketTally.team_id))
    return statement if visible is None else statement.where(visible)


@functools.cache
def _following_count(shape: Shape) -> AnySelect:
    """The Following queue's count for an agent of this shape (with `_agent_params`): from the agent's followers
    rows (their index), each joined to its ticket by key, of the open tickets the agent may see."""
    statement = (
        select(func.count())
        .select_from(Follower)
        .join(Ticket, Ticket.id == Follower.ticket_id)
        .where(Follower.agent_id == _agent_value("me"), Ticket.state == _written(StatusState.OPEN.value))
    )
    visible = _bound_sees(shape, (Ticket.assignee_id, Ticket.department_id, Ticket.team_id))
    return statement if visible is None else statement.where(visible)


def _tally_counts(session: Session, agent: AgentActor, wanted: tuple[Queue, ...] = tuple(Queue)) -> dict[Queue, int]:
    """The counts of the `wanted` queues: from the tallies, and Following's from the agent's followers rows."""
    connection, shape, params = session.connection(), _shape(agent), _agent_params(agent)
    counts = dict.fromkeys(Queue, 0)
    if tallied := tuple(queue for queue in wanted if queue != Queue.FOLLOWING):
        row = connection.execute(_tally_statement(tallied, shape), params).one()
        counts.update(zip(tallied, (int(n) for n in row), strict=True))
    if Queue.FOLLOWING in wanted:
        counts[Queue.FOLLOWING] = int(connection.execute(_following_count(shape), params).scalar_one())
    return counts


@query
def queue_counts(session: Session, actor: Actor) -> dict[Queue, int]:
    """Every sidebar count at once: from the tallies, and Following's from the agent's followers rows."""
    return _tally_counts(session, require_agent(actor))


@query
def search_tickets(session: Session, actor: Actor, text: str, *, limit: int = PAGE_SIZE) -> QueuePage:
    """Full-text search over subject, thread, requester and number; best matches first."""
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"A page holds 1 to {MAX_PAGE} tickets.")
    rows = rows_for(session, _search_ids(session, require_agent(actor), text, limit))
    return QueuePage(rows=tuple(rows), total=len(rows), next_cursor=None)


def _search_ids(session: Session, agent: AgentActor, text: str, limit: int) -> list[int]:
    """The ids of a search's best matches that the agent may see, best first."""
    terms = parse_query(text)
    if terms.is_empty:
        raise Invalid("Type at least one word of three or more letters to search.", {"text": "Enter a word."})
    visible = _bound_sees(_shape(agent), (Ticket.assignee_id, Ticket.department_id, Ticket.team_id))
    # The agent's values as parameters, so that the search's statements are built once per shape of agent.
    shown = None if visible is None else search.Visibility(visible, _agent_params(agent), key=_shape(agent))
    return search.search_ticket_ids(session, terms, shown, limit)


# --- saved searches -------------------------------------------------------------------------------------------


@command
def save_search(session: Session, actor: Actor, name: str, criteria: Criteria) -> int:
    agent = require_agent(actor)
    title = " ".join(name.split())
    if not title:
        raise Invalid("Name the saved search.", {"name": "Enter a name."})
    existing = session.scalar(select(SavedSearch).where(SavedSearch.agent_id == agent.id, SavedSearch.name == title))
    if existing is None:
        existing = SavedSearch(agent_id=agent.id, name=title, criteria=criteria.to_json())
        session.add(existing)
    else:
        existing.criteria = criteria.to_json()
    session.flush()
    return existing.id


@query
def saved_searches(session: Session, actor: Actor) -> list[tuple[int, str, Criteria]]:
    agent = require_agent(actor)
    return [
        (row.id, row.name, Criteria.from_json(row.criteria))
        for row in session.scalars(
            select(SavedSearch).where(SavedSearch.agent_id == agent.id).order_by(SavedSearch.name)
        )
    ]


@command
def delete_saved_search(session: Session, actor: Actor, search_id: int) -> None:
    agent = require_agent(actor)
    row = session.get(SavedSearch, search_id)
    if row is None or row.agent_id != agent.id:
        raise NotFound("That saved search does not exist.")
    session.delete(row)
