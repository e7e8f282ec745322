"""Templates with variables: "%{ticket.number}" replaced by its value; an unknown name is left as typed. Also the
default texts of the mail Desk sends (desk.services.mail.outbound renders and queues them)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_VARIABLE = re.compile(r"%\{([a-z_.]+)\}")


def render(template: str, variables: Mapping[str, Any]) -> str:
    """Fill in the variables. One left as typed shows the administrator the misspelt name in the sent mail."""
    return _VARIABLE.sub(lambda m: str(variables[m[1]]) if m[1] in variables else m[0], template)


# kind: (subject, body). Administrators override them in the "mail.templates" setting; render() fills in
# their variables.
TEMPLATES: dict[str, tuple[str, str]] = {
    "auto_response": (
        "We received your request: %{ticket.subject}",
        "Dear %{requester.name},\n\nThank you for contacting us. Your request has been received as ticket "
        "#%{ticket.number}; we will answer you as soon as we can. Reply to this mail to add to it.\n\n"
        "%{department.name}",
    ),
    "reply": ("Re: %{ticket.subject}", "%{message}"),
    "alert.new_ticket": (
        "New ticket #%{ticket.number}: %{ticket.subject}",
        "%{requester.name} <%{requester.email}> opened a ticket in %{department.name}:\n\n%{message}",
    ),
    "alert.new_message": (
        "New message on #%{ticket.number}: %{ticket.subject}",
        "%{requester.name} wrote on ticket #%{ticket.number}:\n\n%{message}",
    ),
    "alert.assigned": (
        "Ticket #%{ticket.number} assigned to you: %{ticket.subject}",
        "%{actor.name} assigned ticket #%{ticket.number} (%{ticket.subject}) to you.",
    ),
    "alert.transferred": (
        "Ticket #%{ticket.number} transferred to %{department.name}",
        "%{actor.name} transferred ticket #%{ticket.number} (%{ticket.subject}) to %{department.name}.",
    ),
    "alert.overdue": (
        "Ticket #%{ticket.number} is overdue: %{ticket.subject}",
        "Ticket #%{ticket.number} (%{ticket.subject}) from %{requester.name} is past its due time.",
    ),
    "alert.mailbox_failing": (
        "Mailbox %{mailbox.address} cannot be fetched",
        "Desk has failed %{mailbox.failures} times in a row to fetch %{mailbox.address}:\n\n%{mailbox.error}\n\n"
        "No mail from this address reaches Desk until this is fixed. Mail already on the server is kept there "
        "and fetched once the mailbox works again.",
    ),
    # The Support Center's mail to one person (desk.services.portal): always sent, never switched off.
    "account.confirm": (
        "Confirm your address for the Support Center",
        "Dear %{user.name},\n\nTo finish creating your Support Center account, open this link within %{hours} "
        "hours and choose your password:\n\n%{link}\n\nIf you did not ask for an account, ignore this mail: "
        "nothing happens without the link.",
    ),
    "account.exists": (
        "You already have a Support Center account",
        "Dear %{user.name},\n\nSomeone asked to create a Support Center account for %{user.email}, which has one "
        "already. Sign in with your password, or choose “Forgot your password?” on the sign-in page to set a new "
        "one:\n\n%{link}\n\nIf it was not you, ignore this mail.",
    ),
    "account.reset": (
        "Reset your Support Center password",
        "Dear %{user.name},\n\nTo choose a new password, open this link within %{hours} hour(s):\n\n%{link}\n\n"
        "If you did not ask for this, ignore this mail: your password stays as it is.",
    ),
    "ticket.link": (
        "Your link to ticket #%{ticket.number}",
        "Dear %{user.name},\n\nOpen this link to read ticket #%{ticket.number} (%{ticket.subject}) and answer it. "
        "It works once, within %{hours} hours:\n\n%{link}\n\nIf you did not ask for it, ignore this mail.",
    ),
}

# Notifications an administrator switches per department and help topic (not the alert about a mailbox, nor
# the mail a person asked for).
NOTIFICATIONS = tuple(
    kind for kind in TEMPLATES if kind != "alert.mailbox_failing" and not kind.startswith(("account.", "ticket."))
)
