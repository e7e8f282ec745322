"""Agent alerts: the kinds an agent chooses to get by mail, in the window (tray and list), both or neither, and
the views of them.

The kinds are the alert mails about a ticket (desk.domain.canned): a new kind of alert, with its template, is
one each agent chooses for at once, titled and explained as administrators read it (canned.ABOUT).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from desk.domain.canned import NOTIFICATIONS

KINDS: tuple[str, ...] = tuple(kind for kind in NOTIFICATIONS if kind.startswith("alert."))
ASPECT = "alerts"  # the change-feed aspect that tells one agent their alerts changed
TEXT_LENGTH = 300  # an alert's text in the window: a mail's subject, cut to this


@dataclass(frozen=True)
class AlertChoice:
    """How an agent gets one kind of alert: by mail, in the window, both, or neither (both when never chosen)."""

    kind: str
    mail: bool = True
    window: bool = True


@dataclass(frozen=True)
class AlertView:
    """One alert in the agent's window; `ticket_number` for the list, `ticket_id` to open it."""

    id: int
    kind: str
    ticket_id: int
    ticket_number: str
    text: str
    created_at: datetime
    read: bool


@dataclass(frozen=True)
class AlertList:
    """The agent's recent alerts, newest first, and how many of all theirs are unread."""

    alerts: tuple[AlertView, ...]
    unread: int
