"""The JSON API under /api/v1: tickets, users and help topics for integrations, documented by OpenAPI.

Every call carries an agent's API token (`Authorization: Bearer desk_…`, desk.services.api_tokens) and acts with
that agent's permissions. The services decide what the agent may see and do, exactly as in the desktop app: this
module only translates HTTP to service calls and views to JSON. A ticket the agent may not see is "not found" (404),
never "forbidden", so that the API does not reveal that it exists.

Errors are JSON, `{"error": {"type", "message", "fields"?}}` (desk.web.app maps the services' errors): 401 no or
an unknown token, 403 the agent lacks the right, 404 not found, 409 the ticket changed since `expected_version`,
422 bad input with `fields` naming what to fix. Request validation errors are put in the same shape here, by the
router's route class. Datetimes are ISO 8601 in UTC.

The administration (desk.services.calls.ADMINISTRATION: agents, teams, roles, departments, help topics, SLA plans,
schedules, statuses, priorities, settings, end users, organizations, canned responses, mailboxes, the quarantine,
the audit) is generated from the services themselves, one route per service: `POST /api/v1/admin/NAME` (e.g.
`staff.save_department`) with the service's keyword arguments as a JSON object, answered by `{"value": …}`, both
typed from the service's signature and views as the agents' gate types them (desk.services.calls). One route per
service, named as the service, rather than resource paths and verbs: a second, hand-kept map of each service onto
paths would have to follow every change of the services, and these routes cannot drift from them.
"""

from __future__ import annotations

import base64
import binascii
import csv
import inspect
import io
import re
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any, Literal, cast
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from desk.domain import views
from desk.domain.enums import (
    ActorKind,
    CollaboratorRole,
    EntryKind,
    EventKind,
    Queue,
    Recipients,
    SortKey,
    StatusState,
    TicketSource,
)
from desk.domain.errors import Invalid, NotFound, PermissionDenied
from desk.domain.inputs import MAX_CURSOR, MAX_ID, storable, utc_moment
from desk.domain.macros import TaskForm
from desk.domain.permissions import AgentActor
from desk.domain.queues import Criteria
from desk.domain.reports import GROUPINGS, Grouping, ReportKind, ReportQuery
from desk.domain.rules import Arrival, Channel
from desk.domain.timespent import MAX_MINUTES
from desk.services import (
    accounts,
    api_tokens,
    calls,
    entries,
    lifecycle,
    macros,
    queues,
    reference,
    reports,
    tasks,
    tickets,
)
from desk.services.base import command, within
from desk.storage.db import Database
from desk.web.security import MAX_FILES, Unauthenticated, attachment_rules, upload_problem

# type/subtype and any parameters, in printable ASCII as a header must be
MEDIA_TYPE = r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(;[ -~]*)?"


# --- input types --------------------------------------------------------------------------------------------------


Text = Annotated[str, AfterValidator(storable)]
MAX_MERGED = 100  # tickets merged in one call
MAX_SPLIT = 10_000  # entries split off in one call
# In a JSON body a number is a number: pydantic's lax mode would take true as 1 and "5" as 5 (strict). Query values
# arrive as text, so their ids are parsed (QueryId).
QueryId = Annotated[int, Field(ge=1, le=MAX_ID)]
Id = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]
Version = Annotated[
    int, Field(ge=0, le=MAX_ID, strict=True, description="The ticket's `version` as last read: 409 if changed.")
]


def _iso_8601(value: object) -> datetime:
    """ISO 8601 text only: pydantic would also read a number ("0.5") as seconds since 1970."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date and time")
    return datetime.fromisoformat(value)


Moment = Annotated[AwareDatetime, BeforeValidator(_iso_8601), AfterValidator(utc_moment)]
Email = Annotated[Text, Field(max_length=254, json_schema_extra={"format": "email"})]  # checked by the services
MAX_LISTED = 100  # values of one list parameter (each is a bound parameter, of which engines take a limited number)
Ids = Annotated[list[QueryId] | None, Query(max_length=MAX_LISTED)]


# --- errors ---------------------------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    type: str = Field(description="unauthenticated, forbidden, not_found, conflict, invalid or bad_request")
    message: str = Field(description="What went wrong, for a person to read.")
    fields: dict[str, str] | None = Field(None, description="For `invalid`: what to fix, by input field.")


class Error(BaseModel):
    error: ErrorDetail


_ERRORS = {
    400: "The body could not be read: send JSON in UTF-8.",
    401: "No API token, or one that is unknown, revoked or whose agent is inactive.",
    403: "The token's agent lacks the permission for this.",
    404: "It does not exist, or the token's agent may not see it.",
    409: "The ticket was changed since `expected_version`: read it again and repeat the change.",
    422: "The input is not valid; `fields` says what to fix.",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": Error, "description": _ERRORS[code]} for code in codes}


def _error(status: int, kind: str, message: str, fields: Mapping[str, str] | None = None) -> JSONResponse:
    detail: dict[str, Any] = {"type": kind, "message": message}
    if fields:
        detail["fields"] = dict(fields)
    return JSONResponse({"error": detail}, status_code=status)


def _request_invalid(error: RequestValidationError) -> JSONResponse:
    fields: dict[str, str] = {}
    for problem in error.errors():
        location = [str(part) for part in problem.get("loc", ())]
        name = ".".join(location[1:]) or (location[0] if location else "request")
        fields.setdefault(name, str(problem.get("msg", "is not valid")))
    listed = "; ".join(f"{name}: {message}" for name, message in fields.items())
    return _error(422, "invalid", f"The request is not valid ({listed}).", fields)


class _ApiRoute(APIRoute):
    """A route whose request validation and HTTP errors come in the API's error shape, like the services' errors."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                return _request_invalid(error)
            except HTTPException as error:  # a body FastAPI cannot read at all
                return _error(error.status_code, "bad_request", str(error.detail))

        return run


router = APIRouter(route_class=_ApiRoute, responses=_errors(401, 422))


# --- authentication -------------------------------------------------------------------------------------------------

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    description="An agent's API token, made in Desk or with `desk token create`: `Authorization: Bearer desk_…`.",
)


def database(request: Request) -> Database:
    return cast(Database, request.app.state.db)


def token_agent(
    db: Annotated[Database, Depends(database)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> AgentActor:
    """The agent whose token the request carries, with their current permissions; 401 without a valid one."""
    if credentials is None:
        raise Unauthenticated("Send an API token: Authorization: Bearer desk_…")
    try:
        return api_tokens.token_agent(db, credentials.credentials)
    except PermissionDenied as error:
        raise Unauthenticated(str(error)) from error


Db = Annotated[Database, Depends(database)]
Agent = Annotated[AgentActor, Depends(token_agent)]
TicketId = Annotated[int, Path(ge=1, le=MAX_ID, description="The ticket's id (not its number).")]


# --- views ----------------------------------------------------------------------------------------------------------


class _View(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Ref(_View):
    id: int
    name: str


class Person(_View):
    id: int
    name: str
    email: str
    phone: str | None
    organization: str | None


class Priority(_View):
    id: int
    name: str
    level: int
    colour: str


class Status(_View):
    id: int
    name: str
    state: StatusState
    pauses_sla: bool


class Attachment(_View):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str


class Entry(_View):
    """A thread entry: the end user's message, an agent's reply, or an internal note."""

    type: Literal["entry"] = "entry"
    id: int
    kind: EntryKind
    author_kind: ActorKind
    author: str
    created_at: datetime
    body_text: str
    body_html: str | None
    recipients: list[str]
    edited_at: datetime | None
    attachments: list[Attachment] = Field(description="Download from /tickets/{id}/attachments/{attachment id}.")
    minutes: int | None = Field(None, description="The time the agent spent, entered with the reply or note.")


class Event(_View):
    """Something that happened to the ticket: assigned, transferred, status changed…"""

    type: Literal["event"] = "event"
    id: int
    kind: EventKind
    actor_kind: ActorKind
    actor: str
    created_at: datetime
    data: dict[str, Any]
    note: str | None


class Task(_View):
    """An item of the ticket's checklist; `done_at` null while it is still to do."""

    id: int
    text: str
    assignee: Ref | None
    due_on: date | None
    done_at: datetime | None
    done_by: Ref | None


class MacroActions(_View):
    """What a macro does; a field null (or false, or empty) leaves that part of the ticket be."""

    topic_id: int | None
    priority_id: int | None
    sla_id: int | None
    team_id: int | None
    assign_to_me: bool = Field(description="Assigns the ticket to the agent applying it.")
    assignee_id: int | None
    follow: bool | None = Field(description="true: the agent follows the ticket; false: stops following it.")
    post: EntryKind | None = Field(description="`reply` or `note`: posts `text` as such.")
    text: str = Field(description="The reply or note as it would be posted on this ticket (variables filled in).")
    status_id: int | None
    department_id: int | None = Field(description="Transfers the ticket there, last.")


class Macro(_View):
    """A macro offered on a ticket: shared, its department's, or the token agent's own (`personal`)."""

    id: int
    name: str
    actions: MacroActions
    personal: bool


class Collaborator(_View):
    user: Person
    role: CollaboratorRole


class Ticket(_View):
    """A ticket with its thread (entries and events in time order), as the token's agent may see it."""

    id: int
    number: str
    subject: str
    requester: Person
    department: Ref
    topic: Ref | None
    priority: Priority
    status: Status
    sla: Ref | None
    assignee: Ref | None
    team: Ref | None
    source: TicketSource
    created_at: datetime
    updated_at: datetime
    due: datetime | None = Field(description="The next deadline: first response until given, then resolution.")
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_responded_at: datetime | None
    answered: bool
    overdue: bool
    closed_at: datetime | None
    reopen_count: int
    last_message_at: datetime | None
    last_response_at: datetime | None
    merged_into: str | None = Field(description="The number of the ticket this one was merged into.")
    version: int = Field(description="Send it back as `expected_version` to refuse a change made on a stale copy.")
    collaborators: list[Collaborator]
    linked: list[str] = Field(description="Numbers of related tickets.")
    thread: list[Entry | Event]
    time_spent: int = Field(description="The minutes entered with its replies and notes, in total.")
    time_required: bool = Field(description="Its department refuses replies and notes without `minutes`.")
    tasks: list[Task] = Field(description="Its checklist, in the order the tasks were added.")
    tasks_required: bool = Field(description="Its department refuses to resolve or close it while a task is to do.")
    pending_until: datetime | None = Field(None, description="Waiting until then; back to Open by itself at that time.")


class QueueRow(_View):
    id: int
    number: str
    subject: str
    requester: str
    requester_email: str
    priority: str
    priority_level: int
    priority_colour: str
    assignee: str | None
    team: str | None
    department: str
    status: str
    status_state: StatusState
    due: datetime | None
    overdue: bool
    answered: bool
    created_at: datetime
    updated_at: datetime
    pending_until: datetime | None = None


class TicketPage(BaseModel):
    items: list[QueueRow]
    total: int = Field(description="How many tickets match, on all pages.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last one.")


class Reference(_View):
    """What ticket fields may be set to, in display order."""

    statuses: list[Status]
    priorities: list[Priority]
    departments: list[Ref]
    topics: list[Ref] = Field(description="Active help topics; nested ones named “Parent / Child”.")
    slas: list[Ref]
    agents: list[Ref]
    teams: list[Ref]
    attachment_limit: int = Field(description="The largest attachment accepted, in bytes.")
    attachment_types: list[str] = Field(
        description="The file types accepted, as extensions (“pdf”); empty: any type the API takes."
    )


def _ticket(view: views.TicketView) -> Ticket:
    return Ticket.model_validate(view)


# --- requests -------------------------------------------------------------------------------------------------------


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewAttachment(_Request):
    """A file to attach, its content in base64 (at most `attachment_limit` bytes once decoded, see /reference)."""

    name: Annotated[Text, Field(min_length=1, max_length=255, examples=["screenshot.png"])]
    content_type: Annotated[str, Field(max_length=127, pattern=f"^{MEDIA_TYPE}$")] = "application/octet-stream"
    data_base64: str


Attachments = Annotated[list[NewAttachment], Field(max_length=MAX_FILES)]


class NewTicket(_Request):
    """A ticket opened on behalf of an end user (found or created by their address). Help-topic defaults fill the
    department, priority, SLA plan and assignment that are not given."""

    subject: Text
    body: Text = Field(description="The requester's words: the first message of the thread.")
    requester_email: Email
    requester_name: Annotated[Text, Field(max_length=120)] | None = None
    requester_phone: Annotated[Text, Field(max_length=40)] | None = None
    source: TicketSource = TicketSource.OTHER
    topic_id: Id | None = None
    department_id: Id | None = None
    priority_id: Id | None = None
    sla_id: Id | None = None
    assignee_id: Id | None = None
    team_id: Id | None = None
    attachments: Attachments = []


class NewNote(_Request):
    body: Text
    body_html: Text | None = Field(None, description="Optional HTML; sanitised before it is stored.")
    status_id: Id | None = Field(None, description="A status to set in the same action.")
    attachments: Attachments = []
    expected_version: Version | None = None
    client_key: Annotated[Text, Field(min_length=8, max_length=36)] | None = Field(
        None,
        description="A key (a UUID) for this send: sent again after a broken connection, the entry is not "
        "posted twice.",
    )
    minutes: Annotated[int, Field(ge=1, le=MAX_MINUTES)] | None = Field(
        None, description="The time spent on it, in minutes (required by some departments: see `time_required`)."
    )


class NewReply(NewNote):
    recipients: Recipients = Field(
        Recipients.ALL, description="Who is emailed: the requester and collaborators, the requester, or nobody."
    )


class TicketChanges(_Request):
    """Fields to change; those left out stay as they are. All are applied in one transaction, or none is."""

    topic_id: Id | None = Field(None, description="A help topic; null removes it.")
    sla_id: Id | None = Field(None, description="An SLA plan; null removes it (due times are counted again).")
    priority_id: Id | None = None
    team_id: Id | None = Field(None, description="A team; null removes it.")
    assignee_id: Id | None = Field(
        None, description="An active agent; null releases the ticket (unassigns its agent and its team)."
    )
    status_id: Id | None = None
    pending_until: Moment | None = Field(
        None, description="With `status_id` of a waiting status (Pending): back to Open by itself at this time."
    )
    department_id: Id | None = Field(None, description="Transfers the ticket to this department (applied last).")
    note: Text | None = Field(None, description="A comment recorded with each change.")
    expected_version: Version | None = None


class MacroApplied(_Request):
    expected_version: Version | None = None
    minutes: Annotated[int, Field(ge=1, le=MAX_MINUTES)] | None = Field(
        default=None, description="The time spent, posted with the macro's reply or note (see `time_required`)."
    )


class NewTask(_Request):
    text: Annotated[Text, Field(max_length=500)] = Field(description="What is to be done, on one line.")
    assignee_id: Id | None = Field(None, description="The agent who is to do it.")
    due_on: date | None = Field(None, description="By when, as a date (YYYY-MM-DD).")


class TaskChanges(_Request):
    """Fields to change; those left out stay as they are (null removes the assignee or the due date)."""

    text: Annotated[Text, Field(max_length=500)] | None = None
    assignee_id: Id | None = None
    due_on: date | None = None
    done: bool | None = Field(None, description="true ticks the task off; false makes it to do again.")


class StatusChange(_Request):
    note: Text | None = None
    expected_version: Version | None = None


class Merge(_Request):
    ticket_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_MERGED)] = Field(
        description="The tickets to merge into this one: each is closed, its thread and people moved here."
    )
    note: Text | None = Field(None, description="A comment recorded with the merge on every ticket.")


class NewLink(_Request):
    ticket_id: Id = Field(description="The ticket to link this one to.")
    note: Text | None = None


class Split(_Request):
    entry_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_SPLIT)] = Field(
        description="The thread entries (messages, replies, notes) to move to the new ticket; at least one stays."
    )
    subject: Annotated[Text, Field(max_length=255)] | None = Field(
        None, description="The new ticket's subject; the original's if left out."
    )
    note: Text | None = Field(None, description="A comment recorded with the split on both tickets.")


class NewUser(_Request):
    email: Email
    # Not blank: add_user would name them by their address. (A pattern after a validator is left out of the schema.)
    name: Annotated[str, Field(max_length=120, pattern=r"\S"), AfterValidator(storable)]
    phone: Annotated[Text, Field(max_length=40)] | None = None
    password: Annotated[Text, Field(max_length=1024)] | None = Field(
        None, description="A Support Center password; without one, the user signs in by mailed link."
    )
    organization: Annotated[Text, Field(max_length=120)] | None = Field(
        None, description="An organization by name; created if new."
    )


# What the services call a ticket's fields in their errors (the desktop app's labels) → their names in the API.
_TICKET_FIELDS = {
    "email": "requester_email",
    "name": "requester_name",
    "phone": "requester_phone",
    "topic": "topic_id",
    "help topic": "topic_id",
    "department": "department_id",
    "priority": "priority_id",
    "SLA plan": "sla_id",
    "agent": "assignee_id",
    "assignee": "assignee_id",
    "team": "team_id",
    "status": "status_id",
    "entries": "entry_ids",
}


@contextmanager
def _ticket_fields() -> Iterator[None]:
    """Let an Invalid from a ticket service name the request's fields."""
    try:
        yield
    except Invalid as error:
        fields = {_TICKET_FIELDS.get(name, name): problem for name, problem in error.fields.items()}
        raise Invalid(str(error), fields) from error


def _uploads(request: Request, files: list[NewAttachment]) -> list[views.Upload]:
    """The attachments decoded and checked as the Support Center checks its uploads."""
    if not files:
        return []
    rules = attachment_rules(request)
    uploads = []
    for index, file in enumerate(files):
        try:
            data = base64.b64decode(file.data_base64, validate=True)
        except (binascii.Error, ValueError) as error:
            message = f"“{file.name}” is not in base64."
            raise Invalid(message, {f"attachments.{index}.data_base64": "Encode the file in base64."}) from error
        if problem := upload_problem(file.name, len(data), rules):
            raise Invalid(problem, {f"attachments.{index}": problem})
        uploads.append(views.Upload(name=file.name, content_type=file.content_type, data=data))
    return uploads


# --- tickets --------------------------------------------------------------------------------------------------------


@router.get("/tickets", tags=["tickets"], summary="List tickets, a page at a time")
def list_tickets(
    db: Db,
    agent: Agent,
    queue: Annotated[Queue | None, Query(description="A queue as in the desktop app's sidebar.")] = None,
    status_id: Ids = None,
    department_id: Ids = None,
    priority_id: Ids = None,
    assignee_id: Ids = None,
    unassigned: Annotated[bool, Query(description="Unassigned tickets (too, with `assignee_id`).")] = False,
    team_id: Ids = None,
    topic_id: Ids = None,
    source: Annotated[list[TicketSource] | None, Query(max_length=MAX_LISTED)] = None,
    text: Annotated[Text, Query(max_length=500, description="Words to find in tickets and their threads.")] = "",
    created_from: Annotated[Moment | None, Query()] = None,
    created_to: Annotated[Moment | None, Query(description="Exclusive.")] = None,
    updated_from: Annotated[Moment | None, Query()] = None,
    updated_to: Annotated[Moment | None, Query(description="Exclusive.")] = None,
    sort: SortKey = SortKey.UPDATED,
    order: Literal["asc", "desc"] = "desc",
    cursor: Annotated[
        Text | None, Query(max_length=MAX_CURSOR, description="`next_cursor` of the page before.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=queues.MAX_PAGE)] = queues.PAGE_SIZE,
) -> TicketPage:
    """The tickets the agent may see that match every criterion given (repeat a list parameter to match any of
    its values), in a stable order. Keyset pagination: pass each page's `next_cursor` with the same criteria."""
    criteria = Criteria(
        queue=queue,
        status_ids=tuple(status_id or ()),
        department_ids=tuple(department_id or ()),
        priority_ids=tuple(priority_id or ()),
        assignee_ids=tuple(assignee_id or ()),
        unassigned=unassigned,
        team_ids=tuple(team_id or ()),
        topic_ids=tuple(topic_id or ()),
        sources=tuple(source or ()),
        text=text,
        created_from=created_from,
        created_to=created_to,
        updated_from=updated_from,
        updated_to=updated_to,
    )
    page = queues.queue_page(db, agent, criteria, sort=sort, descending=order == "desc", cursor=cursor, limit=limit)
    return TicketPage(
        items=[QueueRow.model_validate(row) for row in page.rows], total=page.total, next_cursor=page.next_cursor
    )


@router.get(
    "/tickets/by-number/{number}", tags=["tickets"], summary="Read a ticket by its number", responses=_errors(404)
)
def get_ticket_by_number(
    db: Db, agent: Agent, number: Annotated[Text, Path(max_length=32, description="As shown, e.g. 123456.")]
) -> Ticket:
    return _ticket(tickets.find_ticket(db, agent, number))


@router.get("/tickets/{ticket_id}", tags=["tickets"], summary="Read a ticket with its thread", responses=_errors(404))
def get_ticket(db: Db, agent: Agent, ticket_id: TicketId) -> Ticket:
    return _ticket(tickets.get_ticket(db, agent, ticket_id))


@router.get(
    "/tickets/{ticket_id}/attachments/{attachment_id}",
    tags=["tickets"],
    summary="Download an attachment",
    response_class=Response,
    responses={
        200: {"content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},  # the file's own type
        **_errors(404),
    },
)
def get_attachment(
    db: Db, agent: Agent, ticket_id: TicketId, attachment_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> Response:
    """The file, with its content type, as a download (`Content-Disposition: attachment`)."""
    ticket = tickets.get_ticket(db, agent, ticket_id)
    listed = {a.id for item in ticket.thread if isinstance(item, views.EntryView) for a in item.attachments}
    if attachment_id not in listed:
        raise NotFound(f"Ticket {ticket.number} has no attachment {attachment_id}.")
    attachment, data = entries.attachment_content(db, agent, attachment_id)
    return Response(
        data,
        media_type=_content_type(attachment.content_type),
        headers={"Content-Disposition": _disposition(attachment.name)},
    )


def _content_type(stored: str) -> str:
    """The stored type if it is a plain type/subtype (mail may carry anything), else a generic one."""
    return stored if re.fullmatch(MEDIA_TYPE, stored) else "application/octet-stream"


def _disposition(name: str) -> str:
    """An attachment header with an ASCII fallback name and the real one in RFC 6266's `filename*`."""
    fallback = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in name) or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.post(
    "/tickets",
    tags=["tickets"],
    summary="Open a ticket",
    status_code=201,
    responses=_errors(400, 403),
)
def open_ticket(db: Db, agent: Agent, new: NewTicket, request: Request, response: Response) -> Ticket:
    """Opens the ticket for the requester (found or created by address); `Location` is its URL."""
    with _ticket_fields():
        view = tickets.open_ticket(
            db,
            agent,
            subject=new.subject,
            body=new.body,
            requester_email=new.requester_email,
            requester_name=new.requester_name,
            requester_phone=new.requester_phone,
            source=new.source,
            topic_id=new.topic_id,
            department_id=new.department_id,
            priority_id=new.priority_id,
            sla_id=new.sla_id,
            assignee_id=new.assignee_id,
            team_id=new.team_id,
            attachments=_uploads(request, new.attachments),
            arrival=Arrival(Channel.API),
        )
    response.headers["Location"] = str(request.url_for("get_ticket", ticket_id=view.id))
    return _ticket(view)


@router.patch(
    "/tickets/{ticket_id}",
    tags=["tickets"],
    summary="Change a ticket's fields",
    responses=_errors(400, 403, 404, 409),
)
def change_ticket(db: Db, agent: Agent, ticket_id: TicketId, changes: TicketChanges) -> Ticket:
    """Each field given is the desktop app's action for it, with that action's permission, in this order: set the
    help topic, SLA plan and priority; release (`assignee_id: null`); set the team, the assignee and the status;
    transfer to the department (last, as it may take the ticket out of the agent's reach). They run in one
    transaction: if one is refused (403, 409, 422), none is applied. `expected_version` is checked before the
    first; `note` is recorded with each."""
    given = changes.model_fields_set - {"note", "expected_version"}
    if not given:
        raise Invalid("Give at least one field to change.")
    for name in ("priority_id", "status_id", "department_id"):
        if name in given and getattr(changes, name) is None:
            raise Invalid(f"{name} cannot be removed, only changed.", {name: "Give an id."})
    if changes.pending_until is not None and changes.status_id is None:
        raise Invalid("pending_until goes with a status_id.", {"status_id": "Give the waiting status."})
    with _ticket_fields():
        return _ticket(_apply_changes(db, agent, ticket_id, changes, frozenset(given)))


@command
def _apply_changes(
    session: Session, agent: AgentActor, ticket_id: int, changes: TicketChanges, given: frozenset[str]
) -> views.TicketView:
    """The services' actions for the given fields in one transaction (services.base.within): all or nothing."""
    released = "assignee_id" in given and changes.assignee_id is None
    steps: list[tuple[bool, Callable[..., views.TicketView], tuple[int | datetime | None, ...]]] = [
        ("topic_id" in given, tickets.set_topic, (changes.topic_id,)),
        ("sla_id" in given, tickets.set_sla, (changes.sla_id,)),
        (changes.priority_id is not None, tickets.set_priority, (changes.priority_id,)),
        (released, tickets.release, ()),
        ("team_id" in given, tickets.assign_team, (changes.team_id,)),
        (changes.assignee_id is not None, tickets.assign, (changes.assignee_id,)),
        (changes.status_id is not None, lifecycle.set_status, (changes.status_id, changes.pending_until)),
        (changes.department_id is not None, tickets.transfer, (changes.department_id,)),
    ]
    view: views.TicketView | None = None
    for wanted, service, args in steps:
        if wanted:
            # The first action checks the client's version; the later ones follow the changes made before them.
            version = changes.expected_version if view is None else None
            view = within(service)(session, agent, ticket_id, *args, note=changes.note, expected_version=version)
    assert view is not None  # the endpoint refuses an empty change
    return view


@router.post(
    "/tickets/{ticket_id}/replies",
    tags=["tickets"],
    summary="Reply to the end user",
    responses=_errors(400, 403, 404, 409),
)
def post_reply(db: Db, agent: Agent, ticket_id: TicketId, reply: NewReply, request: Request) -> Ticket:
    """Emails the reply to the requester (and collaborators); returns the ticket with the reply in its thread."""
    with _ticket_fields():
        view = entries.post_reply(
            db,
            agent,
            ticket_id,
            reply.body,
            body_html=reply.body_html,
            recipients=reply.recipients,
            status_id=reply.status_id,
            attachments=_uploads(request, reply.attachments),
            expected_version=reply.expected_version,
            client_key=reply.client_key,
            minutes=reply.minutes,
        )
    return _ticket(view)


@router.post(
    "/tickets/{ticket_id}/notes",
    tags=["tickets"],
    summary="Add an internal note",
    responses=_errors(400, 403, 404, 409),
)
def post_note(db: Db, agent: Agent, ticket_id: TicketId, note: NewNote, request: Request) -> Ticket:
    """A note for agents only, never shown or mailed to the end user; returns the ticket with the note."""
    with _ticket_fields():
        view = entries.post_note(
            db,
            agent,
            ticket_id,
            note.body,
            body_html=note.body_html,
            status_id=note.status_id,
            attachments=_uploads(request, note.attachments),
            expected_version=note.expected_version,
            client_key=note.client_key,
            minutes=note.minutes,
        )
    return _ticket(view)


OptionalChange = Annotated[StatusChange | None, Body()]


@router.post("/tickets/{ticket_id}/close", tags=["tickets"], summary="Close", responses=_errors(400, 403, 404, 409))
def close_ticket(db: Db, agent: Agent, ticket_id: TicketId, change: OptionalChange = None) -> Ticket:
    """Moves the ticket to the closed status; the body (a note, `expected_version`) is optional."""
    change = change or StatusChange()
    return _ticket(lifecycle.close(db, agent, ticket_id, note=change.note, expected_version=change.expected_version))


@router.post("/tickets/{ticket_id}/reopen", tags=["tickets"], summary="Reopen", responses=_errors(400, 403, 404, 409))
def reopen_ticket(db: Db, agent: Agent, ticket_id: TicketId, change: OptionalChange = None) -> Ticket:
    """Moves a closed ticket back to its reopen status (422 if it is open, or its status cannot be reopened)."""
    change = change or StatusChange()
    return _ticket(lifecycle.reopen(db, agent, ticket_id, note=change.note, expected_version=change.expected_version))


@router.post(
    "/tickets/{ticket_id}/merge",
    tags=["tickets"],
    summary="Merge other tickets into this one",
    responses=_errors(400, 403, 404),
)
def merge_tickets(db: Db, agent: Agent, ticket_id: TicketId, merge: Merge) -> Ticket:
    """Each ticket listed is closed as merged into this one (its `merged_into` names it); their entries move to
    this ticket's thread and their requesters and collaborators become its collaborators. Returns this ticket."""
    return _ticket(lifecycle.merge(db, agent, ticket_id, merge.ticket_ids, note=merge.note))


@router.post(
    "/tickets/{ticket_id}/links",
    tags=["tickets"],
    summary="Link a related ticket",
    responses=_errors(400, 403, 404),
)
def link_ticket(db: Db, agent: Agent, ticket_id: TicketId, link: NewLink) -> Ticket:
    """Each of the two tickets then lists the other in `linked`; linking them again changes nothing."""
    return _ticket(lifecycle.link(db, agent, ticket_id, link.ticket_id, note=link.note))


@router.delete(
    "/tickets/{ticket_id}/links/{other_id}",
    tags=["tickets"],
    summary="Unlink a related ticket",
    responses=_errors(400, 403, 404),
)
def unlink_ticket(db: Db, agent: Agent, ticket_id: TicketId, other_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Ticket:
    """Removes the link both ways; a ticket not linked stays as it is."""
    return _ticket(lifecycle.unlink(db, agent, ticket_id, other_id))


@router.post(
    "/tickets/{ticket_id}/split",
    tags=["tickets"],
    summary="Split entries off into a new ticket",
    status_code=201,
    responses=_errors(400, 403, 404),
)
def split_ticket(
    db: Db, agent: Agent, ticket_id: TicketId, split: Split, request: Request, response: Response
) -> Ticket:
    """Moves the entries to a new ticket of the same requester, department, help topic, priority and assignment,
    linked to this one; returns the new ticket (`Location` is its URL). Needs the rights to open tickets and to
    edit this one."""
    with _ticket_fields():
        view = lifecycle.split(db, agent, ticket_id, split.entry_ids, subject=split.subject, note=split.note)
    response.headers["Location"] = str(request.url_for("get_ticket", ticket_id=view.id))
    return _ticket(view)


@router.get(
    "/tickets/{ticket_id}/macros", tags=["macros"], summary="List the macros for a ticket", responses=_errors(404)
)
def ticket_macros(db: Db, agent: Agent, ticket_id: TicketId) -> list[Macro]:
    """The active macros the token's agent may apply on this ticket, by name, their reply or note filled in."""
    return [Macro.model_validate(choice) for choice in macros.macros_for_ticket(db, agent, ticket_id)]


@router.post(
    "/tickets/{ticket_id}/macros/{macro_id}",
    tags=["macros"],
    summary="Apply a macro",
    responses=_errors(400, 403, 404, 409),
)
def apply_macro(
    db: Db,
    agent: Agent,
    ticket_id: TicketId,
    macro_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    applied: Annotated[MacroApplied | None, Body()] = None,
) -> Ticket:
    """Each of the macro's changes is the desktop app's action for it, with its permission and its event, in one
    transaction: if one is refused (403, 409, 422), none is applied."""
    applied = applied or MacroApplied()
    with _ticket_fields():
        view = macros.apply_macro(
            db, agent, ticket_id, macro_id, expected_version=applied.expected_version, minutes=applied.minutes
        )
    return _ticket(view)


TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post(
    "/tickets/{ticket_id}/tasks",
    tags=["tasks"],
    summary="Add a task to the checklist",
    status_code=201,
    responses=_errors(400, 403, 404),
)
def add_task(db: Db, agent: Agent, ticket_id: TicketId, new: NewTask) -> Ticket:
    form = TaskForm(new.text, new.assignee_id, new.due_on)
    return _ticket(tasks.save_task(db, agent, ticket_id, None, form))


@router.patch(
    "/tickets/{ticket_id}/tasks/{task_id}",
    tags=["tasks"],
    summary="Change or tick off a task",
    responses=_errors(400, 403, 404),
)
def change_task(db: Db, agent: Agent, ticket_id: TicketId, task_id: TaskId, changes: TaskChanges) -> Ticket:
    """The fields given change in one transaction: the text, assignee and due date (ticket.edit), then `done`
    (ticking off needs the right to reply)."""
    given = changes.model_fields_set
    if not given:
        raise Invalid("Give at least one field to change.")
    if "text" in given and changes.text is None:
        raise Invalid("A task's text cannot be removed, only changed.", {"text": "Give the text."})
    return _ticket(_change_task(db, agent, ticket_id, task_id, changes, frozenset(given)))


@command
def _change_task(
    session: Session, agent: AgentActor, ticket_id: int, task_id: int, changes: TaskChanges, given: frozenset[str]
) -> views.TicketView:
    view = within(tickets.get_ticket)(session, agent, ticket_id)
    task = next((task for task in view.tasks if task.id == task_id), None)
    if task is None:
        raise NotFound(f"Ticket {view.number} has no task with id {task_id}.")
    if given & {"text", "assignee_id", "due_on"}:
        form = TaskForm(
            changes.text if changes.text is not None else task.text,
            changes.assignee_id if "assignee_id" in given else task.assignee.id if task.assignee else None,
            changes.due_on if "due_on" in given else task.due_on,
        )
        view = within(tasks.save_task)(session, agent, ticket_id, task_id, form)
    if changes.done is not None:
        view = within(tasks.set_task_done)(session, agent, ticket_id, task_id, changes.done)
    return view


@router.delete(
    "/tickets/{ticket_id}/tasks/{task_id}",
    tags=["tasks"],
    summary="Delete a task",
    responses=_errors(400, 403, 404),
)
def delete_task(db: Db, agent: Agent, ticket_id: TicketId, task_id: TaskId) -> Ticket:
    return _ticket(tasks.delete_task(db, agent, ticket_id, task_id))


# --- users and reference data ---------------------------------------------------------------------------------------


@router.get("/users", tags=["users"], summary="Find end users")
def find_users(
    db: Db,
    agent: Agent,
    q: Annotated[Text, Query(max_length=254, description="The start of a name, or part of an address.")] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[Person]:
    """End users whose name starts with `q` or whose address contains it (nobody for fewer than 2 characters)."""
    return [Person.model_validate(user) for user in reference.find_users(db, agent, q, limit=limit)]


@router.get("/users/{user_id}", tags=["users"], summary="Read an end user", responses=_errors(404))
def get_user(db: Db, agent: Agent, user_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Person:
    return Person.model_validate(reference.get_user(db, agent, user_id))


@router.post("/users", tags=["users"], summary="Add an end user", status_code=201, responses=_errors(400, 403))
def add_user(db: Db, agent: Agent, new: NewUser) -> Person:
    """Needs the “user.manage” right."""
    return Person.model_validate(
        accounts.add_user(
            db,
            agent,
            email=new.email,
            name=new.name,
            phone=new.phone,
            password=new.password,
            organization=new.organization,
        )
    )


@router.get("/help-topics", tags=["reference"], summary="List help topics")
def help_topics(db: Db, agent: Agent) -> list[Ref]:
    """The active help topics, by name; nested ones are named “Parent / Child”."""
    return [Ref.model_validate(topic) for topic in reference.choices(db, agent).topics]


@router.get("/reference", tags=["reference"], summary="List the values of ticket fields")
def reference_data(db: Db, agent: Agent) -> Reference:
    """Statuses, priorities, departments, help topics, SLA plans, agents and teams, with their ids."""
    return Reference.model_validate(reference.choices(db, agent))


# --- administration ---------------------------------------------------------------------------------------------


# --- reports --------------------------------------------------------------------------------------------------------


class ReportRow(_View):
    key: str = Field(description="The group: a period's first day, a field's id (empty for none), a channel.")
    label: str
    values: list[float | int | None] = Field(description="One per column, in order; durations in business hours.")


class ReportComment(_View):
    ticket_id: int
    number: str
    rating: int
    comment: str
    created_at: datetime


class Report(_View):
    columns: list[str]
    column_labels: list[str]
    rows: list[ReportRow]
    total: ReportRow | None
    comments: list[ReportComment]


@router.get(
    "/reports/{kind}",
    tags=["reports"],
    summary="Read a report's figures as JSON or CSV",
    response_model=Report,
    responses={**_errors(403, 422), 200: {"content": {"text/csv": {}}}},
)
def get_report(
    db: Db,
    agent: Agent,
    kind: ReportKind,
    start: Annotated[date, Query(description="The first day (in `tz`).")],
    end: Annotated[date, Query(description="The last day, included.")],
    grouping: Annotated[
        Grouping | None, Query(description="The rows; the report's first grouping if left out.")
    ] = None,
    tz: Annotated[Text, Query(max_length=64, description="The IANA time zone whose days count.")] = "UTC",
    department_id: Ids = None,
    topic_id: Ids = None,
    agent_id: Ids = None,
    team_id: Ids = None,
    source: Annotated[list[TicketSource] | None, Query(max_length=MAX_LISTED)] = None,
    format: Annotated[Literal["json", "csv"], Query(description="CSV: UTF-8 with a byte-order mark.")] = "json",
) -> Report | Response:
    """A report as the agent may see it (the reports right; their departments' tickets), for BI tools."""
    table = reports.report(
        db,
        agent,
        ReportQuery(
            kind=kind,
            grouping=grouping or GROUPINGS[kind][0],
            start=start,
            end=end,
            tz=tz,
            department_ids=tuple(department_id or ()),
            topic_ids=tuple(topic_id or ()),
            agent_ids=tuple(agent_id or ()),
            team_ids=tuple(team_id or ()),
            sources=tuple(source or ()),
        ),
    )
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["key", "label", *table.columns])
        for row in [*table.rows, *([table.total] if table.total else [])]:
            writer.writerow([row.key, row.label, *("" if v is None else v for v in row.values)])
        disposition = f'attachment; filename="{kind.value}-report.csv"'
        return Response(
            "\ufeff" + out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": disposition},
        )
    return Report.model_validate(table)


async def _raw_body(request: Request) -> bytes:
    return await request.body()  # read once: the router's own validation reads the same


def _administration(name: str) -> None:
    """`POST /admin/NAME`: the administration service NAME as the token's agent, its arguments and its answer
    typed (and documented) by the models of desk.services.calls. The service checks the agent's permission."""
    service = calls.SERVICES[name]
    signature = calls.signature(service)
    if signature.files_in_arguments:  # none does: the gate sends files beside the JSON, the API has no way to
        raise TypeError(f"{name} takes bytes, which the JSON API cannot send")

    def endpoint(db: Db, agent: Agent, raw: Annotated[bytes, Depends(_raw_body)], arguments: Any = None) -> Response:
        # `arguments` is the router's: it documents the body and refuses what does not fit it even loosely. The
        # service's arguments are the raw JSON read strictly (true is no id), as `desk admin` reads them.
        given = signature.decode_arguments(calls.Body(raw or b"{}"), strict=True)
        return Response(signature.result_json(service(db, agent, **given)), media_type="application/json")

    # The body is the service's arguments model; one with only optional arguments may be left out.
    required = any(field.is_required() for field in signature.arguments.model_fields.values())
    body = inspect.Parameter(
        "arguments",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        annotation=Annotated[signature.arguments, Body()],
        default=inspect.Parameter.empty if required else None,
    )
    parameters = list(inspect.signature(endpoint).parameters.values())[:3]
    endpoint.__signature__ = inspect.Signature([*parameters, body])  # type: ignore[attr-defined]
    description = inspect.getdoc(service) or ""
    if signature.files_in_result:  # pydantic's base64 is RFC 4648's URL-safe alphabet, which OpenAPI cannot say
        description += "\n\nIts bytes values are in URL-safe base64 (RFC 4648 §5: `-` and `_`, padded)."
    router.add_api_route(
        f"/admin/{name}",
        endpoint,
        methods=["POST"],
        name=name,
        operation_id=name.replace(".", "_"),
        summary=calls.summary(service),
        description=description,
        tags=[f"admin: {name.split('.')[0]}"],
        response_model=signature.result,
        responses=_errors(400, 403, 404),
    )


for _name in calls.ADMINISTRATION:
    _administration(_name)


@router.post("/admin/{name}", include_in_schema=False)
def no_such_administration(name: str) -> None:
    """Any other name (after the generated routes, which match first)."""
    raise NotFound(f"There is no administration service {name[:80]!r}: /api/v1/docs lists them.")
