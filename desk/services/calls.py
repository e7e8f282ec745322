"""The services an agent's Desk may call through `desk serve`, and how a call and its answer travel as JSON.

The list is explicit: the server runs nothing else, and always as the session's agent (a client never names the
actor). Arguments and results are typed from each service's own signature and its frozen views by pydantic
(one adapter per service, built on first use), so there is no second model of any view to keep in step. Errors
travel with their content (Invalid's fields, Conflict's changes, Locked's holder) and are raised again on the
client as the same types.
"""

from __future__ import annotations

import functools
import inspect
import json
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
from desk.services import agent_sessions, api_tokens, entries, lifecycle, locks, queues, reference, tickets, worker
from desk.services.mail import outbound

# Every service an agent's window uses, and nothing an agent's window does not. `at` (when a ticket was opened)
# is for imports and the demo: through the server a ticket opens now.
EXPOSED: tuple[Callable[..., Any], ...] = (
    agent_sessions.list_sessions,
    agent_sessions.end_sessions,
    api_tokens.create_token,
    api_tokens.list_tokens,
    api_tokens.revoke_token,
    entries.attachment_content,
    entries.post_note,
    entries.post_reply,
    lifecycle.add_collaborator,
    lifecycle.close,
    lifecycle.remove_collaborator,
    lifecycle.reopen,
    lifecycle.resolve,
    lifecycle.set_status,
    locks.acquire,
    locks.holder,
    locks.release,
    locks.renew,
    locks.take_over,
    outbound.demo_mailbox,
    outbound.outgoing_mail_now,
    queues.queue_counts,
    queues.queue_ids,
    queues.queue_page,
    queues.rows_for_ids,
    queues.save_search,
    queues.saved_searches,
    queues.search_tickets,
    reference.choices,
    reference.find_users,
    reference.requester_tickets,
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
WITHHELD = frozenset({"at"})
UNFIT = "The call's arguments do not fit the service."
# bytes (attachments) travel as base64 in JSON
JSON_BYTES = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")


def name_of(service: Callable[..., Any]) -> str:
    """The name a service is called by: its module's last part and its own, e.g. "tickets.get_ticket"."""
    return f"{service.__module__.rsplit('.', 1)[-1]}.{service.__name__}"


SERVICES: dict[str, Callable[..., Any]] = {name_of(service): service for service in EXPOSED}


@dataclass(frozen=True)
class Signature:
    """A service's arguments (after the database and the actor) as a pydantic model, and its result's adapter."""

    service: Callable[..., Any]
    arguments: type[BaseModel]
    result: type[BaseModel]  # one field, `value`: a model carries the base64 rule for bytes into the views

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> BaseModel:
        """The client's arguments, checked against the service's signature as a direct call would be."""
        try:
            bound = inspect.signature(self.service).bind(None, None, *args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{name_of(self.service)}: {error}") from None
        given = dict(list(bound.arguments.items())[2:])
        if withheld := WITHHELD & given.keys():
            raise TypeError(f"{name_of(self.service)}: {', '.join(withheld)} cannot be given through the server")
        return self.arguments.model_validate(given)

    def encode_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
        return self.bind(args, kwargs).model_dump_json(exclude_unset=True).encode()

    def decode_arguments(self, body: bytes) -> dict[str, Any]:
        """The keyword arguments for the service; Invalid, naming the fields, for a body that does not fit: not of
        the service's types, or a value no engine takes (an id beyond 32 bits, a NUL, a time without its zone)."""
        try:
            model = self.arguments.model_validate_json(body)
        except ValidationError as error:
            raise Invalid(UNFIT, _fields(error)) from None
        arguments = {name: getattr(model, name) for name in model.model_fields_set}
        if problems := dict(problem for name, value in arguments.items() for problem in _unstorable(value, name)):
            raise Invalid(UNFIT, problems)
        return arguments

    def encode_result(self, value: Any) -> bytes:
        # The service's own view: constructed, not validated again
        return self.result.model_construct(value=value).model_dump_json().encode()

    def decode_result(self, body: bytes) -> Any:
        return getattr(self.result.model_validate_json(body), "value")  # noqa: B009  # a field made at run time


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
    fields: dict[str, Any] = {}
    for position, parameter in enumerate(inspect.signature(function).parameters.values()):
        if position < 2 or parameter.name in WITHHELD:  # the session (the server's) and the actor (the session's)
            continue
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (hints[parameter.name], default)
    name = name_of(service).replace(".", "_")
    arguments = create_model(name, __config__=ConfigDict(extra="forbid", **JSON_BYTES), **fields)
    returned: Any = hints["return"]
    result = create_model(f"{name}_result", __config__=JSON_BYTES, value=(returned, ...))
    return Signature(service, arguments, result)


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
            return DeskError("The Desk server gave an answer this Desk does not understand.")
    kind = ERRORS.get(body.type, DeskError)
    if kind is Locked and body.holder_id is not None and body.holder_name is not None and body.until is not None:
        return Locked(body.message, body.holder_id, body.holder_name, body.until, bool(body.can_take_over))
    if kind is Invalid:
        return Invalid(body.message, body.fields)
    if kind in (Conflict, Locked):
        return Conflict(body.message, body.conflict)
    return kind(body.message)
