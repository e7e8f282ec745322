"""Shared settings kept in the database, with their defaults in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ScalarSelect, select
from sqlalchemy.orm import Session

from desk.storage.models import Setting

DEFAULTS: dict[str, Any] = {
    "ticket.number_format": "######",
    "ticket.number_mode": "random",  # or "sequence"
    "ticket.default_status_id": None,
    "ticket.resolved_status_id": None,
    "ticket.closed_status_id": None,
    "ticket.default_department_id": None,
    "ticket.default_sla_id": None,
    "ticket.autoclose_days": 7,
    "ticket.lock_minutes": 3,
    "attachments.max_bytes": 10 * 1024 * 1024,
    # The file types that may be attached, as extensions ["pdf", "png"]; none listed: any type. Any by default: Desk
    # took every type before there was a list, and a list nobody chose would drop customers' mailed files after an
    # upgrade; what is dangerous to open is guarded where files are opened (desk.domain.attachments.may_open).
    "attachments.types": [],
    "login.max_failures": 5,
    "login.lockout_minutes": 15,
    "sessions.idle_hours": 12,  # an agent's Desk signed in to the server: unused this long, it must sign in again
    "sessions.max_days": 30,  # and at most this long after signing in, "stay signed in" or not
    "mail.default_mailbox_id": None,  # sends the mail of departments without a mailbox of their own
    "mail.notifications": {},  # template kind -> on/off, over which departments and help topics switch
    "mail.templates": {},  # template kind -> {"subject": ..., "body": ...}, over the built-in ones
    "mail.secret": None,  # signs our Message-IDs; made on first use
    "mail.alert_after_failures": 3,  # failed fetches in a row before administrators are mailed
    "mail.fetch_seconds": 60,
    # The demo's: outgoing mail is kept in the outbox as sent, for Desk to show, and never reaches a mail server.
    "mail.demo_sink": False,
}


_CACHE = "desk.settings"  # key in Session.info: a session lives for one transaction, and so does this copy


def get(session: Session, key: str) -> Any:
    """A setting, read with all the others once per transaction (opening a ticket reads five)."""
    values = session.info.get(_CACHE)
    if values is None:
        values = session.info[_CACHE] = {
            key: value for key, value in session.execute(select(Setting.key, Setting.value))
        }
    return values[key] if key in values else DEFAULTS[key]


def selected(key: str) -> ScalarSelect[Any]:
    """A setting as a column of another statement, for a path that cannot spare a round trip; read it with
    `given`."""
    if key not in DEFAULTS:
        raise KeyError(key)
    return select(Setting.value).where(Setting.key == key).scalar_subquery()


def given(key: str, value: Any) -> Any:
    """The value of a setting read by `selected`: its default while it was never set."""
    return DEFAULTS[key] if value is None else value


def forget(session: Session) -> None:
    """Read the settings again on the next `get` (after a row was written other than through `put`)."""
    session.info.pop(_CACHE, None)


def locked(session: Session, key: str) -> Any:
    """A setting read for a change that depends on it (a template among the others): its row locked until the
    transaction ends, so that two administrators' changes at once both land."""
    value = session.scalar(select(Setting.value).where(Setting.key == key).with_for_update())
    return given(key, value)


def put(session: Session, key: str, value: Any) -> None:
    if key not in DEFAULTS:
        raise KeyError(key)
    session.merge(Setting(key=key, value=value))
    forget(session)
