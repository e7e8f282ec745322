"""The services an agent's Desk may call through `desk serve`, and how a call and its answer travel as JSON.

The list is explicit: the server runs nothing else, and always as the session's agent (a client never names the
actor). Arguments and results are typed from each service's own signature and its frozen views by pydantic
(one adapter per service, built on first use), so there is no second model of any view to keep in step. Files
(every bytes value, such as an attachment's content) travel raw after the JSON, not inside it (Body). Errors
travel with their content (Invalid's fields, Conflict's changes, Locked's holder) and are raised again on the
client as the same types.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model

from desk.domain.errors import (
    Conflict,
    ConflictInfo,
    DeskError,
    Invalid,
    Locked,
    NotFound,
    PermissionDenied,
    SignedOut,
)
from desk.domain.inputs import int_range, storable, utc_moment
from desk.domain.views import TicketView
from desk.services import (
    agent_sessions,
    alerts,
    api_tokens,
    audit,
    canned,
    dashboard,
    entries,
    following,
    lifecycle,
    locks,
    macros,
    mailboxes,
    notifications,
    people,
    queues,
    reference,
    reports,
    rules,
    staff,
    tasks,
    ticket_setup,
    tickets,
    worker,
)
from desk.services.mail import intake, oauth, outbound

# Every service an agent's window uses, and nothing an agent's window does not. `at` (when a ticket was opened)
# is for imports and the demo: through the server a ticket opens now.
EXPOSED: tuple[Callable[..., Any], ...] = (
    agent_sessions.list_sessions,
    agent_sessions.end_sessions,
    alerts.alert_choices,
    alerts.mark_alerts_read,
    alerts.my_alerts,
    alerts.save_own_alert_choices,
    api_tokens.create_token,
    api_tokens.list_tokens,
    api_tokens.revoke_token,
    audit.audit_log,
    audit.sign_ins,
    canned.canned_for_ticket,
    canned.delete_canned,
    canned.get_canned,
    canned.list_canned,
    canned.list_own_canned,
    canned.save_canned,
    dashboard.dashboard,
    entries.attachment_content,
    entries.pictures,
    entries.post_note,
    entries.post_reply,
    following.follow,
    following.unfollow,
    intake.discard,
    intake.quarantined,
    intake.raw_message,
    intake.retry,
    lifecycle.add_collaborator,
    lifecycle.close,
    lifecycle.link,
    lifecycle.merge,
    lifecycle.remove_collaborator,
    lifecycle.reopen,
    lifecycle.resolve,
    lifecycle.set_status,
    lifecycle.split,
    lifecycle.unlink,
    locks.acquire,
    locks.holder,
    locks.release,
    locks.renew,
    locks.take_over,
    macros.apply_macro,
    macros.delete_macro,
    macros.get_macro,
    macros.list_macros,
    macros.list_own_macros,
    macros.macros_for_ticket,
    macros.save_macro,
    mailboxes.get_mailbox_details,
    mailboxes.mailbox_names,
    mailboxes.save_mailbox,
    mailboxes.try_mailbox,
    notifications.mail_templates,
    notifications.notification_switches,
    notifications.preview_mail_template,
    notifications.save_mail_template,
    notifications.set_notifications,
    oauth.complete_consent,
    oauth.consent_url,
    oauth.finish_device_consent,
    oauth.start_device_consent,
    outbound.demo_mailbox,
    people.delete_organization,
    people.get_end_user,
    people.get_organization,
    people.list_organizations,
    people.list_users,
    people.merge_users,
    people.save_organization,
    people.save_user,
    people.set_banned,
    outbound.outgoing_mail_now,
    queues.export_page,
    queues.export_search,
    queues.queue_counts,
    queues.queue_ids,
    queues.queue_page,
    queues.rows_for_ids,
    queues.save_search,
    queues.saved_searches,
    queues.search_tickets,
    reports.report,
    reports.report_ticket_ids,
    reference.choices,
    reference.find_users,
    reference.requester_tickets,
    rules.delete_rule,
    rules.get_rule,
    rules.list_rules,
    rules.move_rule,
    rules.save_rule,
    rules.try_rules,
    staff.change_own_password,
    staff.delete_department,
    staff.department_members,
    staff.delete_role,
    staff.delete_team,
    staff.get_agent,
    staff.get_department,
    staff.get_role,
    staff.get_team,
    staff.list_agents,
    staff.list_departments,
    staff.list_roles,
    staff.list_teams,
    staff.managed_departments,
    staff.move_department_tickets,
    staff.reset_password,
    staff.save_agent,
    staff.save_department,
    staff.save_own_signature,
    staff.save_role,
    staff.save_team,
    staff.set_agent_active,
    staff.set_members,
    staff.staff_choices,
    tasks.delete_task,
    tasks.save_task,
    tasks.set_task_done,
    ticket_setup.delete_priority,
    ticket_setup.delete_schedule,
    ticket_setup.delete_sla,
    ticket_setup.delete_status,
    ticket_setup.delete_topic,
    ticket_setup.get_priority,
    ticket_setup.get_schedule,
    ticket_setup.get_settings,
    ticket_setup.get_sla,
    ticket_setup.get_status,
    ticket_setup.get_topic,
    ticket_setup.list_priorities,
    ticket_setup.list_schedules,
    ticket_setup.list_slas,
    ticket_setup.list_statuses,
    ticket_setup.list_topics,
    ticket_setup.preview_schedule,
    ticket_setup.preview_sla,
    ticket_setup.save_priority,
    ticket_setup.save_schedule,
    ticket_setup.save_settings,
    ticket_setup.save_sla,
    ticket_setup.save_status,
    ticket_setup.save_topic,
    tickets.assign,
    tickets.assign_team,
    tickets.claim,
    tickets.get_ticket,
    tickets.open_ticket,
    tickets.release,
    tickets.set_priority,
    tickets.set_sla,
    tickets.set_topic,
    tickets.transfer,
    worker.status,
)
WITHHELD = frozenset({"at", "arrival"})  # `arrival`: the channel is the server's to say (the API's, mail's)
UNFIT = "The call's arguments do not fit the service."
NOT_UNDERSTOOD = "The Desk server gave an answer this Desk does not understand."
PARTS = "Desk-Parts"  # a header: the byte lengths of a body's JSON document and of each file after it
PARTS_AT_MOST = 64  # pieces of one body: far more than any call's files (an entry takes desk.web.security.MAX_FILES)


def name_of(service: Callable[..., Any]) -> str:
    """The name a service is called by: its module's last part and its own, e.g. "tickets.get_ticket"."""
    return f"{service.__module__.rsplit('.', 1)[-1]}.{service.__name__}"


SERVICES: dict[str, Callable[..., Any]] = {name_of(service): service for service in EXPOSED}

# The administration (File › Administration… in the window), which integrations also call through the JSON API
# (POST /api/v1/admin/NAME, desk.web.api) and scripts through `desk admin NAME`: every listed service of these
# modules, less what each agent does there for themselves (AGENTS_OWN: their own password, signature and canned
# responses, which departments they manage, none for most agents, and the canned responses of a ticket they
# answer). Each service checks its own permission, as it does for the window.
AGENTS_OWN = frozenset(
    {
        "staff.change_own_password",
        "staff.save_own_signature",
        "staff.managed_departments",
        "canned.canned_for_ticket",
        "canned.list_own_canned",
        # and their alerts and how they get them
        "alerts.my_alerts",
        "alerts.mark_alerts_read",
        "alerts.alert_choices",
        "alerts.save_own_alert_choices",
        "macros.apply_macro",
        "macros.list_own_macros",
        "macros.macros_for_ticket",
    }
)
ADMINISTRATION: tuple[str, ...] = tuple(
    sorted(
        name
        for name in SERVICES
        if name.split(".")[0]
        in {
            "audit",
            "canned",
            "intake",
            "macros",
            "mailboxes",
            "notifications",
            "people",
            "rules",
            "staff",
            "ticket_setup",
        }
        and name not in AGENTS_OWN
    )
)


def summary(service: Callable[..., Any]) -> str:
    """What a service does in one sentence: its docstring's first, or its name in words when it has none."""
    doc = " ".join((inspect.getdoc(service) or "").split("\n\n")[0].split())
    if not doc:
        return service.__name__.replace("_", " ").capitalize()
    return re.split(r"(?<=\.)\s", doc, maxsplit=1)[0]


@dataclass(frozen=True)
class Body:
    """A call or an answer as it travels: a JSON document with every bytes value of it left empty, and those
    values' contents after it, raw and in order (no base64: a 10 MB file is 10 MB on the wire, and is neither
    encoded into nor parsed out of a JSON string). Without files it is the JSON alone, and says so by having no
    PARTS header."""

    document: bytes
    files: tuple[bytes, ...] = ()

    @classmethod
    def read(cls, content: bytes, parts: str | None) -> Body:
        """A received body, cut where its PARTS header says; ValueError when the header does not fit it."""
        if parts is None:
            return cls(content)
        lengths = parts.split(" ")
        # ASCII digits only, and not so many that int() refuses them (see desk.web.app.BoundedBody)
        if len(lengths) > PARTS_AT_MOST or not all(n.isascii() and n.isdigit() and len(n) < 16 for n in lengths):
            raise ValueError(f"{PARTS} is not a list of at most {PARTS_AT_MOST} byte lengths")
        if sum(int(n) for n in lengths) != len(content):
            raise ValueError(f"{PARTS} does not add up to the body's length")
        pieces, at, view = [], 0, memoryview(content)
        for length in map(int, lengths):
            pieces.append(bytes(view[at : at + length]))
            at += length
        return cls(pieces[0], tuple(pieces[1:]))

    @property
    def headers(self) -> dict[str, str]:
        """What a body with files says of itself: its pieces' lengths, and its length (the receiver checks it
        before reading); none for the JSON alone."""
        if not self.files:
            return {}
        lengths = [len(piece) for piece in self.chunks]
        return {
            PARTS: " ".join(map(str, lengths)),
            "Content-Type": "application/octet-stream",
            "Content-Length": str(sum(lengths)),
        }

    @property
    def chunks(self) -> tuple[bytes, ...]:
        return (self.document, *self.files)


@dataclass(frozen=True)
class Signature:
    """A service's arguments (after the database and the actor) as a pydantic model, and its result's model."""

    service: Callable[..., Any]
    parameters: inspect.Signature  # the service's own, as a direct call binds them
    arguments: type[BaseModel]
    result: type[BaseModel]  # one field, `value`, so that arguments and results are handled alike
    files_in_arguments: bool  # whether any argument's type holds bytes (most hold none, and skip the search)
    files_in_result: bool

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> BaseModel:
        """The client's arguments, checked against the service's signature as a direct call would be."""
        try:
            bound = self.parameters.bind(None, None, *args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{name_of(self.service)}: {error}") from None
        given = dict(list(bound.arguments.items())[2:])
        if withheld := WITHHELD & given.keys():
            raise TypeError(f"{name_of(self.service)}: {', '.join(withheld)} cannot be given through the server")
        return self.arguments.model_validate(given)

    def encode_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Body:
        return self.encode_bound(self.bind(args, kwargs))

    def encode_bound(self, arguments: BaseModel) -> Body:
        """Arguments already in the service's model (bind, or made otherwise), as they travel."""
        return _encode(arguments, self.files_in_arguments)

    def decode_arguments(self, body: Body, *, strict: bool = False) -> dict[str, Any]:
        """The keyword arguments for the service; Invalid, naming the fields, for a body that does not fit: not of
        the service's types, files other than its bytes values, or a value no engine takes (an id beyond 32 bits,
        a NUL, a time without its zone). `strict`: a JSON value only as its own type (not true for 1, nor "5" for
        5), for integrations and scripts, whose mistakes these are; Desk's own client sends what its models made."""
        try:
            model = self.arguments.model_validate_json(body.document, strict=strict)
        except ValidationError as error:
            raise Invalid(UNFIT, _fields(error)) from None
        try:
            arguments = _decode(model, body.files, self.files_in_arguments)
        except ValueError as error:
            raise Invalid(UNFIT, {"files": str(error)}) from None
        if problems := dict(problem for name, value in arguments.items() for problem in _unstorable(value, name)):
            raise Invalid(UNFIT, problems)
        return arguments

    def encode_result(self, value: Any) -> Body:
        # The service's own view: constructed, not validated again
        return _encode(self.result.model_construct(value=value), self.files_in_result)

    def result_json(self, value: Any) -> bytes:
        """The service's value as one JSON document, `{"value": …}`, its bytes values in it in base64 (URL-safe):
        the JSON API's answer and the command line's output, where no files travel beside the JSON."""
        return self.result.model_construct(value=value).model_dump_json().encode()

    def decode_result(self, body: Body) -> Any:
        """The service's value; ValueError (pydantic's ValidationError is one) when the body is not one."""
        return _decode(self.result.model_validate_json(body.document), body.files, self.files_in_result)["value"]


def _given(model: BaseModel) -> Iterator[str]:
    """The fields a model was given, in their declared order: the order both sides find the files in."""
    return (name for name in type(model).model_fields if name in model.model_fields_set)


def _encode(model: BaseModel, with_files: bool) -> Body:
    if not with_files:
        return Body(model.model_dump_json(exclude_unset=True).encode())
    files: list[bytes] = []

    def take(data: bytes) -> bytes:
        files.append(data)
        return b""

    emptied = {name: _replace_bytes(getattr(model, name), take) for name in _given(model)}
    document = type(model).model_construct(**emptied).model_dump_json(exclude_unset=True).encode()
    return Body(document, tuple(files))


def _decode(model: BaseModel, files: tuple[bytes, ...], with_files: bool) -> dict[str, Any]:
    """The model's given values with its files put back in place; ValueError when they are not one per bytes value."""
    if not with_files:  # nothing to put back: the values as they are (most calls, and every queue page)
        if files:
            raise ValueError(f"the call has no bytes values for its {len(files)} files")
        return {name: getattr(model, name) for name in _given(model)}
    remaining = iter(files)

    def put_back(_: bytes) -> bytes:
        data = next(remaining, None)
        if data is None:
            raise ValueError(f"the call has more bytes values than its {len(files)} files")
        return data

    values = {name: _replace_bytes(getattr(model, name), put_back) for name in _given(model)}
    if next(remaining, None) is not None:
        raise ValueError(f"the call has fewer bytes values than its {len(files)} files")
    return values


def _replace_bytes(value: Any, replace: Callable[[bytes], bytes]) -> Any:
    """The value (a view, a list or tuple of them, a scalar) with each bytes value in it replaced, in order."""
    if isinstance(value, bytes):
        return replace(value)
    if is_dataclass(value) and not isinstance(value, type):
        changed = {item.name: _replace_bytes(getattr(value, item.name), replace) for item in fields(value)}
        return dataclasses.replace(value, **changed)
    if isinstance(value, list | tuple):
        return type(value)(_replace_bytes(item, replace) for item in value)
    return value


def _holds_bytes(kind: Any, seen: frozenset[Any] = frozenset()) -> bool:
    """Whether values of a type can hold bytes: it is bytes, or a view, list, tuple or union with bytes in it."""
    if kind is bytes:
        return True
    if kind in seen:
        return False
    if is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return any(_holds_bytes(hints[item.name], seen | {kind}) for item in fields(kind))
    return any(_holds_bytes(argument, seen) for argument in typing.get_args(kind))


def _fields(error: ValidationError) -> dict[str, str]:
    """pydantic's problems by where they are (`criteria.topic_ids.3`), as Invalid's fields."""
    return {".".join(str(part) for part in problem["loc"]) or "body": problem["msg"] for problem in error.errors()}


def _unstorable(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Where in a decoded value (`criteria.topic_ids.3`) something is that no engine takes, and what: the values
    desk.domain.inputs checks for every other channel, found in nested views and lists too."""
    if value is None or isinstance(value, bool | bytes | Enum):
        return
    if isinstance(value, int):
        low, high = int_range(32)
        if not low <= value <= high:
            yield where, "is out of range"
    elif isinstance(value, str):
        try:
            storable(value)
        except ValueError as error:
            yield where, str(error)
    elif isinstance(value, datetime):
        try:
            utc_moment(value)
        except ValueError as error:
            yield where, str(error)
    elif is_dataclass(value):
        for item in fields(value):
            yield from _unstorable(getattr(value, item.name), f"{where}.{item.name}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _unstorable(item, f"{where}.{index}")


@functools.cache
def signature(service: Callable[..., Any]) -> Signature:
    """The typed signature of an exposed service (KeyError for any other function)."""
    if SERVICES.get(name_of(service)) is not service:
        raise KeyError(name_of(service))
    function = inspect.unwrap(service)
    hints = typing.get_type_hints(function)
    if hasattr(service, "answers_view"):  # a change that answers the ticket, served with its view (views.with_view)
        hints["return"] = TicketView
    fields: dict[str, Any] = {}
    parameters = inspect.signature(function)
    for position, parameter in enumerate(parameters.parameters.values()):
        if position < 2 or parameter.name in WITHHELD:  # the session (the server's) and the actor (the session's)
            continue
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (hints[parameter.name], default)
    name = name_of(service).replace(".", "_")
    arguments = create_model(name, __config__=ConfigDict(extra="forbid"), **fields)
    returned: Any = hints["return"]
    # Bytes in base64 where they are in the JSON (result_json); a Body's are emptied out of it, and stay empty.
    config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")
    result = create_model(f"{name}_result", __config__=config, value=(returned, ...))
    files_in_arguments = any(_holds_bytes(kind) for kind, _ in fields.values())
    return Signature(service, parameters, arguments, result, files_in_arguments, _holds_bytes(returned))


# --- errors ---------------------------------------------------------------------------------------------------------

ERRORS: dict[str, type[DeskError]] = {
    kind.__name__: kind for kind in (Locked, Conflict, Invalid, NotFound, PermissionDenied, SignedOut, DeskError)
}


class ErrorBody(BaseModel):
    """A service's typed error as it travels."""

    type: str
    message: str
    fields: dict[str, str] | None = None
    conflict: ConflictInfo | None = None
    holder_id: int | None = None
    holder_name: str | None = None
    until: datetime | None = None
    can_take_over: bool | None = None


ERROR_BODY = TypeAdapter(ErrorBody)


def encode_error(error: DeskError) -> bytes:
    kind = next(name for name, cls in ERRORS.items() if isinstance(error, cls))
    body = ErrorBody(type=kind, message=str(error))
    if isinstance(error, Invalid):
        body.fields = dict(error.fields)
    if isinstance(error, Conflict):
        body.conflict = error.info
    if isinstance(error, Locked):
        body.holder_id, body.holder_name = error.holder_id, error.holder_name
        body.until, body.can_take_over = error.until, error.can_take_over
    return ERROR_BODY.dump_json(body, exclude_none=True)


def decode_error(data: bytes) -> DeskError:
    """The error the server raised, as the same type; a plain DeskError when the body is not one of ours."""
    try:
        body = ERROR_BODY.validate_json(data)
    except ValidationError:
        try:  # refused before any service ran (too many attempts, too large): the web side's {"error": {…}}
            body = ERROR_BODY.validate_python(json.loads(data)["error"])
        except (ValueError, KeyError, TypeError, ValidationError):
            return DeskError(NOT_UNDERSTOOD)
    kind = ERRORS.get(body.type, DeskError)
    if kind is Locked and body.holder_id is not None and body.holder_name is not None and body.until is not None:
        return Locked(body.message, body.holder_id, body.holder_name, body.until, bool(body.can_take_over))
    if kind is Invalid:
        return Invalid(body.message, body.fields)
    if kind in (Conflict, Locked):
        return Conflict(body.message, body.conflict)
    return kind(body.message)
