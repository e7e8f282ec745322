"""Demo data: the help desk of a small bank, with departments, teams, SLA plans, agents, requesters and tickets.

`build_demo` makes the reference data and a showcase of tickets through the services, so their events, tallies
and search documents are what real use produces; the timestamps are then moved back over the last two months
in one transaction, and the worker's overdue pass is run at the times it would have run. Above
`BULK_THRESHOLD` tickets the rest are written with bulk INSERTs (for benchmarks on a million tickets) following
the same rules the services apply, and the tallies are rebuilt from them.
"""

from __future__ import annotations

import bisect
import math
import queue
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from desk.domain import sla as sla_domain
from desk.domain.enums import EventKind, StatusState, TicketSource
from desk.domain.numbers import sequence_number
from desk.domain.permissions import AgentActor, Perm, Right, SystemActor, UserActor
from desk.domain.textsearch import words
from desk.services import accounts, entries, lifecycle, settings, sla, tickets
from desk.services.base import now
from desk.services.setup import install_defaults
from desk.storage import search, tallies
from desk.storage.db import Database
from desk.storage.models import (
    NO_DUE,
    Agent,
    AgentAlert,
    Base,
    CannedResponse,
    Department,
    HelpTopic,
    Mailbox,
    Organization,
    Priority,
    Schedule,
    SlaPlan,
    Status,
    Team,
    ThreadEntry,
    ThreadEvent,
    Ticket,
    User,
    ticket_sort_keys,
)

SEED = 1729
BULK_THRESHOLD = 5000  # above this many tickets, all but the showcase are written with bulk INSERTs
SHOWCASE = 250  # tickets built through the services when the rest are bulk-loaded
BATCH = 5000  # tickets per bulk transaction (with their ~25,000 entries)
DAYS = 60  # tickets spread over the last two months
LONG_THREAD = 200  # entries of the one ticket with a long thread
LONG_THREAD_SUBJECT = "Statement sync keeps failing for our accounting package"
# A big demo (bulk-loaded, for the benchmarks) also has a ticket with a thread five times as long.
LONGEST_THREAD = 1000
LONGEST_THREAD_SUBJECT = "Ledger export keeps failing every night"
RARE_WORD = "reykjavik"  # in about one ticket in 20,000 (and one showcase ticket): a rare search word
COMMON_WORD = "thanks"  # in nearly every ticket: a very common search word
RARE_RATE = 1 / 20000

SYSTEM = SystemActor()
TABLES = Base.metadata.tables
Progress = Callable[[str], None]

# --- people -------------------------------------------------------------------------------------------------------

# username, name, password, {department: role}, rights, teams
AGENTS: tuple[tuple[str, str, str, dict[str, str], tuple[Right, ...], tuple[str, ...]], ...] = (
    (
        "admin",
        "Ada Lindqvist",
        "demo-admin",
        {"Support": "All access", "Online Banking": "All access", "Billing": "All access"},
        (Right.ADMIN,),
        (),
    ),
    # john works Support's and Online Banking's tickets with a limited role: he can claim a ticket that was moved
    # to Online Banking (the demo's walkthrough) and answer it, but not change its fields.
    (
        "john",
        "John Carter",
        "demo-john",
        {"Support": "Limited access", "Online Banking": "Limited access"},
        (),
        ("Level 2",),
    ),
    (
        "maria",
        "Maria González",
        "demo-maria",
        {"Support": "Expanded access", "Online Banking": "Expanded access"},
        (Right.SEARCH_ALL,),
        ("Level 2",),
    ),
    ("sam", "Samuel Okafor", "demo-sam", {"Support": "Expanded access"}, (Right.REPORTS_VIEW,), ()),
    ("priya", "Priya Natarajan", "demo-priya", {"Online Banking": "All access"}, (Right.REPORTS_VIEW,), ()),
    ("tom", "Tom Becker", "demo-tom", {"Billing": "All access"}, (Right.USER_MANAGE,), ("Billing desk",)),
    ("lena", "Lena Fischer", "demo-lena", {"Billing": "Limited access"}, (), ("Billing desk",)),
)
AGENT_DOMAIN = "lumenbank.example"
DEMO_MAILBOX = ("Lumen Bank Support", f"support@{AGENT_DOMAIN}")  # name, address

FIRST_NAMES = (
    "Olivia Liam Emma Noah Amelia Oliver Sophia Elijah Charlotte James Mia Lucas Harper Mateo Evelyn Henry "
    "Aisha Omar Yuki Hiroshi Chloé Lukas Ingrid Pedro Fatima Arjun Zoe Dmitri Nora Kwame Sofia Tariq Hannah "
    "Marco Leila Finn Grace Rafael Anika Tomasz"
).split()
LAST_NAMES = (
    "Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Wilson Anderson Thomas "
    "Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Lewis Robinson Walker Young Allen "
    "Nakamura Kowalski Dubois Rossi Novak Jensen Haddad Mensah Silva Schmidt"
).split()
# domain, organization (None: private customers)
DOMAINS: tuple[tuple[str, str | None], ...] = (
    ("northwind.example", "Northwind Traders"),
    ("contoso.example", "Contoso Pharmaceuticals"),
    ("mail.example", None),
    ("inbox.example", None),
    ("post.example", None),
    ("example.net", None),
    ("example.org", None),
)
NAMED_USERS = 40

# --- what tickets are about -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A kind of ticket: its help topic, how people write about it, and how agents answer. Every text of a
    scenario fits every other: a ticket takes one case (its subject with the opening message written for it), and
    its replies, follow-ups, notes and fix from the same scenario."""

    topic: str
    weight: int
    cases: tuple[tuple[str, str], ...]  # subject, opening message
    replies: tuple[str, ...]
    followups: tuple[str, ...]
    notes: tuple[str, ...]
    fixes: tuple[str, ...]


SIGN = "\n\nThanks,\n{first}"

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        topic="access",
        weight=12,
        cases=(
            (
                "Can't log in to online banking",
                "Hello, since {when} I cannot log in to online banking. After I enter my password the page "
                "shows error {code} and sends me back to the start." + SIGN,
            ),
            (
                "Locked out after password reset",
                "I reset my password this morning and now my account is locked. I have tried three times "
                "with the new password on {browser}." + SIGN,
            ),
            (
                "Login page keeps saying my session expired",
                "Every time I sign in on {browser} the login page says my session expired (error {code}) "
                "and I have to start again." + SIGN,
            ),
        ),
        replies=(
            "Hi {first}, I'm sorry you are locked out. I have reset the failed-login counter on your account. "
            "Could you clear the cookies of {browser} and try again?\n\nBest regards,\n{agent}",
            "Hi {first}, thanks for the details. For your security I have sent a one-time activation letter "
            "to your registered address; it should arrive within two working days.\n\n{agent}",
        ),
        followups=(
            "I cleared the cookies but still get error {code}. Is there anything else I can try?" + SIGN,
            "Thanks, the letter arrived but the activation code has expired already." + SIGN,
        ),
        notes=(
            "Auth logs show {n} failed attempts from two IP ranges; not fraud, the customer's office VPN.",
            "Customer verified by phone (security questions OK). Safe to unlock.",
        ),
        fixes=(
            "Hi {first}, the account is unlocked and you can sign in again now. Let us know if anything else "
            "comes up.\n\nBest regards,\n{agent}",
        ),
    ),
    Scenario(
        topic="access",
        weight=5,
        cases=(
            (
                "Two-factor code never arrives",
                "The SMS with the two-factor code never arrives on my phone ending in {card}. "
                "I need to pay a supplier today, please help." + SIGN,
            ),
            (
                "No SMS code when I sign in",
                "When I sign in, online banking says it sent me a code by SMS, but nothing arrives on my {device}."
                + SIGN,
            ),
        ),
        replies=(
            "Hello {first}, we see the SMS was delivered to the carrier. Could you check whether your phone "
            "blocks short codes? Meanwhile I have enabled voice calls as a fallback.\n\n{agent}",
        ),
        followups=("Still no code. I'm travelling and only have my {device} with me." + SIGN,),
        notes=("Known issue with the SMS gateway for one carrier, see incident {ref}.",),
        fixes=(
            "Hello {first}, the SMS gateway problem is fixed and codes are arriving again. Thanks for your "
            "patience!\n\n{agent}",
        ),
    ),
    Scenario(
        topic="access",
        weight=5,
        cases=(
            (
                "New phone, authenticator app not working",
                "I bought a new {device} and moved the authenticator app, but the codes are rejected. "
                "How do I register the new device for my account?" + SIGN,
            ),
            (
                "Authenticator codes rejected after changing phone",
                "Since I changed to a {device} every code from the authenticator app is rejected with error {code}."
                + SIGN,
            ),
        ),
        replies=(
            "Hi {first}, I have removed the old device from your account. Open the app on your {device}, choose "
            "Add account and scan the code in the letter we are sending you.\n\n{agent}",
        ),
        followups=("I scanned the new code, but the app's codes are still rejected." + SIGN,),
        notes=(
            "Customer verified by phone (security questions OK). Safe to reset the authenticator.",
            "The old device is still bound to the token; needs re-provisioning by Level 2.",
        ),
        fixes=(
            "Hi {first}, your new device is registered and its codes work. You can sign in again now.\n\n"
            "Best regards,\n{agent}",
        ),
    ),
    Scenario(
        topic="problem",
        weight=8,
        cases=(
            (
                "Card declined at checkout",
                "My card ending in {card} was declined at a shop today for {amount}. There is enough money on "
                "the account. What is going on?" + SIGN,
            ),
            (
                "Card declined although balance is fine",
                "My card ending in {card} was declined for an online payment of {amount}, although my balance is "
                "fine." + SIGN,
            ),
        ),
        replies=(
            "Hi {first}, the payment was blocked by our fraud filter because it looked unusual. I have "
            "marked it as genuine; please try again.\n\nKind regards,\n{agent}",
        ),
        followups=("I tried again and it was declined again, same shop." + SIGN,),
        notes=(
            "Fraud filter score 87 for merchant category 5411. Whitelisted for 30 days.",
            "Card scheme reports decline reason 05 (do not honour). Asked the card team to check.",
        ),
        fixes=(
            "Hi {first}, the card team found a wrong flag on your card and removed it. Payments go through "
            "again.\n\nBest regards,\n{agent}",
        ),
    ),
    Scenario(
        topic="problem",
        weight=5,
        cases=(
            (
                "Debit card declined abroad",
                "I'm abroad this week and my debit card is declined at every ATM. I informed the bank before "
                "the trip." + SIGN,
            ),
        ),
        replies=(
            "Hello {first}, your card had reached its daily limit for foreign withdrawals. I have raised the "
            "limit to {amount} until the end of your trip.\n\n{agent}",
        ),
        followups=("It works at ATMs now, but the hotel still cannot charge the card." + SIGN,),
        notes=("Possible chargeback on the hotel payment; keep an eye on it.",),
        fixes=("Hello {first}, all set: the card works everywhere again. Enjoy the rest of your trip!\n\n{agent}",),
    ),
    Scenario(
        topic="problem",
        weight=5,
        cases=(
            (
                "Contactless payments stopped working",
                "Contactless stopped working on my card ending in {card}; chip and PIN still works." + SIGN,
            ),
        ),
        replies=(
            "Hi {first}, contactless is switched off after five payments in a row without a PIN for security. "
            "One chip-and-PIN payment resets it.\n\n{agent}",
        ),
        followups=("I paid once with chip and PIN, but contactless still fails." + SIGN,),
        notes=("Contactless counter on card ending in {card} stuck at 5; asked the card team to reset it.",),
        fixes=("Hi {first}, the card team reset the counter: contactless works again.\n\n{agent}",),
    ),
    Scenario(
        topic="outage",
        weight=2,
        cases=(
            (
                "Online banking down for all our staff",
                "URGENT: none of our {n} employees can reach online banking since {time}. We get error {code}. "
                "Payroll has to go out today." + SIGN,
            ),
            (
                "Nobody in our office can reach the banking portal",
                "Since {time} nobody in our office can open the banking portal; the page times out." + SIGN,
            ),
        ),
        replies=(
            "Hi {first}, we are aware of a disruption and the on-call engineers are working on it. "
            "I will update you within the hour.\n\n{agent} (Level 2)",
        ),
        followups=("Any news? It's been two hours now." + SIGN,),
        notes=(
            "Load balancer health checks failing on node 3 since {time}; restarting the pool.",
            "Incident {ref} opened, status page updated.",
            "Root cause: expired TLS certificate on the internal gateway. Renewed.",
        ),
        fixes=(
            "Hi {first}, the service is fully restored; the cause was an expired certificate on an internal "
            "gateway. We are sorry for the disruption.\n\n{agent} (Level 2)",
        ),
    ),
    Scenario(
        topic="outage",
        weight=1,
        cases=(
            (
                "Payments API returns 503 since this morning",
                "Our integration gets HTTP 503 from the payments API for every request since {time}. "
                "Orders are piling up." + SIGN,
            ),
        ),
        replies=(
            "Hello {first}, thanks for reporting this so quickly. Could you send the request id of one failed "
            "call? It helps us trace it.\n\n{agent}",
        ),
        followups=("Here is one request id: {ref}. Still failing." + SIGN,),
        notes=("Incident {ref} opened: the payments API pool lost its database connection at {time}.",),
        fixes=("Hello {first}, the payment API is back to normal and the failed requests can be retried.\n\n{agent}",),
    ),
    Scenario(
        topic="outage",
        weight=1,
        cases=(
            (
                "Batch payment file rejected, payroll due today",
                "The payroll batch file we upload every month is rejected with error {code}. Nothing changed on "
                "our side." + SIGN,
            ),
        ),
        replies=(
            "Hi {first}, our file gateway rejects the batch because of a change on our side; the on-call engineers "
            "are on it and I will update you within the hour.\n\n{agent} (Level 2)",
        ),
        followups=("Any news? Payroll has to go out by 15:00." + SIGN,),
        notes=("The batch validator rejects files of more than 999 lines since last night's release; rollback asked.",),
        fixes=(
            "Hi {first}, the validator is fixed and your payroll file went through. Sorry for the stress!\n\n{agent}",
        ),
    ),
    Scenario(
        topic="billing",
        weight=6,
        cases=(
            (
                "Invoice {invoice} charged twice",
                "Hello, invoice {invoice} for {amount} was debited twice from our account on {when}. Please "
                "refund the second payment." + SIGN,
            ),
        ),
        replies=(
            "Hi {first}, you are right, the payment was taken twice. I have asked accounting to refund "
            "{amount}; it takes three to five working days.\n\nKind regards,\n{agent}",
        ),
        followups=("The refund hasn't arrived yet, can you check?" + SIGN,),
        notes=("Duplicate debit confirmed in the ledger, refund ticket {ref} raised with accounting.",),
        fixes=("Hi {first}, the refund of {amount} has been sent today. Sorry for the trouble.\n\n{agent}",),
    ),
    Scenario(
        topic="billing",
        weight=4,
        cases=(
            (
                "Question about VAT on invoice {invoice}",
                "Our accountant asks why invoice {invoice} shows VAT at the standard rate. We are a registered "
                "charity." + SIGN,
            ),
        ),
        replies=(
            "Hello {first}, please send us your charity registration number and we will reissue the invoice "
            "without VAT.\n\n{agent}",
        ),
        followups=("Our registration number is {ref}." + SIGN,),
        notes=("Charity status confirmed in the public register; invoice to be reissued without VAT.",),
        fixes=("Hello {first}, the corrected invoice {invoice} is in your portal now.\n\nBest regards,\n{agent}",),
    ),
    Scenario(
        topic="billing",
        weight=4,
        cases=(
            (
                "Need a copy of last month's invoice",
                "Could you send me a copy of last month's invoice as PDF? I can't find it in the portal." + SIGN,
            ),
        ),
        replies=(
            "Hi {first}, attached you'll find the invoice. You can also download all invoices under "
            "Settings > Documents.\n\n{agent}",
        ),
        followups=("Thanks, but Settings > Documents only shows invoices up to two months ago." + SIGN,),
        notes=("The invoice archive job skipped last month for some customers; re-run requested ({ref}).",),
        fixes=("Hello {first}, last month's invoice is in Settings > Documents now.\n\n{agent}",),
    ),
    Scenario(
        topic="billing",
        weight=3,
        cases=(
            (
                "Account fee higher than agreed",
                "The monthly account fee went up to {amount} but our contract says otherwise." + SIGN,
            ),
        ),
        replies=(
            "Hi {first}, thanks for pointing this out. I'm checking your contract with our pricing team and will "
            "come back to you tomorrow.\n\n{agent}",
        ),
        followups=("Any news about the fee?" + SIGN,),
        notes=("Customer is on the old price plan; fee change was a mistake by the migration script.",),
        fixes=(
            "Hello {first}, you are right: the fee is back to your contract's price and the difference is "
            "refunded.\n\nBest regards,\n{agent}",
        ),
    ),
    Scenario(
        topic="billing",
        weight=3,
        cases=(
            (
                "Refund for cancelled subscription",
                "I cancelled my premium subscription on {when}, but {amount} was charged again this month. "
                "Please refund it." + SIGN,
            ),
        ),
        replies=(
            "Hi {first}, I see your cancellation. I have asked accounting to refund {amount}; it takes three to "
            "five working days.\n\n{agent}",
        ),
        followups=("The refund hasn't arrived yet, can you check?" + SIGN,),
        notes=("Cancellation was recorded after the billing run; refund {ref} raised.",),
        fixes=("Hi {first}, the refund of {amount} has been sent today. Sorry for the trouble.\n\n{agent}",),
    ),
    Scenario(
        topic="problem",
        weight=4,
        cases=(
            (
                "Transfer of {amount} not arrived",
                "I sent {amount} to my landlord on {when} and it still hasn't arrived. Reference {ref}." + SIGN,
            ),
        ),
        replies=("Hi {first}, the transfer is held for a routine check and will be released today.\n\n{agent}",),
        followups=("It still hasn't arrived and my landlord is asking." + SIGN,),
        notes=("Transfer was in the sanctions screening queue; released by compliance.",),
        fixes=("Hello {first}, the money has arrived at the recipient's bank.\n\nBest regards,\n{agent}",),
    ),
    Scenario(
        topic="problem",
        weight=3,
        cases=(
            (
                "App crashes on startup after update",
                "Since the last update the app crashes right after the splash screen on my {device}." + SIGN,
            ),
        ),
        replies=("Hello {first}, could you tell us which app version you have (Settings > About)?\n\n{agent}",),
        followups=("Version 7.4.1 on my {device}. Reinstalling didn't help." + SIGN,),
        notes=("Crash reproduced on {device}, bug filed with the mobile team as {ref}.",),
        fixes=("Hi {first}, version 7.4.2 fixes the crash and is in the store now.\n\n{agent}",),
    ),
    Scenario(
        topic="problem",
        weight=3,
        cases=(
            (
                "CSV export of statements is empty",
                "When I export my statements as CSV the file only contains the header line." + SIGN,
            ),
        ),
        replies=(
            "Hi {first}, the export needs a date range of at most twelve months; could you try a shorter "
            "range?\n\n{agent}",
        ),
        followups=("A shorter range works, thank you, but twelve months should work too." + SIGN,),
        notes=("The export service times out on long ranges; bug {ref} filed.",),
        fixes=("Hi {first}, exports of any range up to two years work again now.\n\n{agent}",),
    ),
    Scenario(
        topic="problem",
        weight=2,
        cases=(
            (
                "Standing order executed twice",
                "My monthly standing order of {amount} was executed twice this month. Please get the second "
                "payment back." + SIGN,
            ),
        ),
        replies=(
            "Hi {first}, I see the duplicate execution and have asked for the second payment to be "
            "recalled.\n\n{agent}",
        ),
        followups=("Is there any news on the recall?" + SIGN,),
        notes=("Duplicate from a scheduler retry on {when}; recall {ref} sent to the receiving bank.",),
        fixes=("Hello {first}, the second payment of {amount} is back in your account.\n\n{agent}",),
    ),
    Scenario(
        topic="problem",
        weight=2,
        cases=(
            (
                "Cannot add a new payee",
                "Adding a new payee fails with error {code} after I confirm with my code." + SIGN,
            ),
        ),
        replies=(
            "Hi {first}, error {code} means the account has reached its limit of 50 payees. Could you remove a "
            "few you no longer use and try again?\n\n{agent}",
        ),
        followups=("I removed some old payees but still get the same error." + SIGN,),
        notes=("Payee count was cached wrongly after deleting; cache cleared, bug {ref} filed.",),
        fixes=("Hello {first}, it is fixed: you can add new payees again.\n\n{agent}",),
    ),
    Scenario(
        topic="feedback",
        weight=3,
        cases=(
            (
                "Love the new dashboard",
                "Just wanted to say the new dashboard is great, much faster than before." + SIGN,
            ),
            (
                "Your support was excellent",
                "{agent} helped me last week and was very patient. Please pass on my thanks." + SIGN,
            ),
        ),
        replies=("Hi {first}, thank you for the kind words, I've passed them on to the team!\n\n{agent}",),
        followups=("You're welcome, keep it up!" + SIGN,),
        notes=("Shared in the team channel.",),
        fixes=("Hi {first}, thanks again for your feedback!\n\n{agent}",),
    ),
    Scenario(
        topic="feedback",
        weight=3,
        cases=(
            (
                "Suggestion: dark mode in the app",
                "Would you consider a dark mode for the app? I use it a lot in the evening." + SIGN,
            ),
            (
                "Please bring back the old statement layout",
                "The new statement layout is hard to read when printed. Could you offer the old one as an option?"
                + SIGN,
            ),
        ),
        replies=("Hello {first}, thanks for the suggestion; I've added it to our product backlog.\n\n{agent}",),
        followups=("Great, looking forward to it." + SIGN,),
        notes=("Forwarded to the product team's feedback board.",),
        fixes=("Hi {first}, thanks again for your feedback!\n\n{agent}",),
    ),
)

TOPIC_OF_SCENARIO = {
    "access": "Access Issue",
    "problem": "Report a Problem",
    "outage": "Business Critical Outage",
    "billing": "Billing question",
    "feedback": "Feedback",
}


def _scenario_of(subject: str) -> Scenario:
    return next(s for s in SCENARIOS if any(case[0] == subject for case in s.cases))


CARDS = _scenario_of("Debit card declined abroad")  # the rare search word is in one of its tickets
TEAM = _scenario_of("Invoice {invoice} charged twice")  # Billing's tickets the Level 2 team takes on
LONG_THREAD_MESSAGES = (
    "Failed again last night for {n} accounts, log attached ({ref})." + SIGN,
    "Tonight's run worked for most accounts, but {n} still failed with error {code}." + SIGN,
    "No change, still failing. Our month-end closing is next week, so this is getting urgent." + SIGN,
)
RARE_SUBJECT = "Card declined abroad"
RARE_OPENING = (
    "I'm on a trip in Reykjavik and my card ending in {card} is declined everywhere, even for small amounts." + SIGN
)
LONG_THREAD_OPENING = (
    "Every night the statement sync into our accounting package fails with error {code} for some of our "
    "accounts. It worked fine until last month." + SIGN
)

DEVICES = ("iPhone 15", "Pixel 8", "Galaxy S23", "iPad", "OnePlus 12", "Moto G")
BROWSERS = ("Firefox", "Chrome", "Edge", "Safari")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _fields(rng: random.Random, first: str, agent: str) -> dict[str, str]:
    return {
        "first": first,
        "agent": agent,
        "card": f"{rng.randrange(10000):04d}",
        "amount": f"€{rng.randrange(15, 4000):,}.{rng.randrange(100):02d}",
        "invoice": f"INV-{rng.randrange(2023, 2026)}-{rng.randrange(100000):05d}",
        "when": rng.choice(WEEKDAYS),
        "time": f"{rng.randrange(6, 12):02d}:{rng.randrange(60):02d}",
        "device": rng.choice(DEVICES),
        "browser": rng.choice(BROWSERS),
        "code": f"E{rng.randrange(100, 999)}",
        "ref": f"REF-{rng.randrange(10**6):06d}",
        "n": str(rng.randrange(3, 60)),
    }


# --- reference data ------------------------------------------------------------------------------------------


@dataclass
class Refs:
    """Ids of the reference data the tickets use."""

    departments: dict[str, int] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)
    plans: dict[str, SlaPlan] = field(default_factory=dict)
    topics: dict[str, HelpTopic] = field(default_factory=dict)
    statuses: dict[str, Status] = field(default_factory=dict)
    priorities: dict[int, Priority] = field(default_factory=dict)
    agents: dict[str, AgentActor] = field(default_factory=dict)
    users: list[tuple[int, str, str]] = field(default_factory=list)  # id, name, email
    schedules: dict[int | None, Any] = field(default_factory=dict)  # plan id -> domain schedule
    department_plans: dict[int, int | None] = field(default_factory=dict)

    def agent(self, username: str) -> AgentActor:
        return self.agents[username]


def _reference_data(db: Database) -> None:
    with db.transaction() as session:
        install_defaults(session)
        hours = session.scalar(select(Schedule.id).where(Schedule.name == "Business hours")) or session.scalar(
            select(Schedule.id).order_by(Schedule.id).limit(1)
        )
        plans = {
            "Sev-A": SlaPlan(name="Sev-A", first_response_hours=1, resolution_hours=4, schedule_id=None),
            "Sev-B": SlaPlan(name="Sev-B", first_response_hours=2, resolution_hours=8, schedule_id=hours),
            "Sev-C": SlaPlan(name="Sev-C", first_response_hours=8, resolution_hours=24, schedule_id=hours),
        }
        for name, plan in plans.items():
            if session.scalar(select(SlaPlan.id).where(SlaPlan.name == name)) is None:
                session.add(plan)
        session.flush()
        plan_ids = {p.name: p.id for p in session.scalars(select(SlaPlan))}
        for name, plan_name in (("Online Banking", "Sev-B"), ("Billing", "Sev-C")):
            if session.scalar(select(Department.id).where(Department.name == name)) is None:
                session.add(Department(name=name, sla_id=plan_ids[plan_name]))  # their plans say the hours
        session.flush()
        for department in session.scalars(select(Department).where(Department.signature.is_(None))):
            department.signature = f"Northbank {department.name}\nnorthbank.example/help"  # replies may be signed so
        for name in ("Level 2", "Billing desk"):
            if session.scalar(select(Team.id).where(Team.name == name)) is None:
                session.add(Team(name=name))
        session.flush()
        departments = {d.name: d.id for d in session.scalars(select(Department))}
        teams = {t.name: t.id for t in session.scalars(select(Team))}
        priorities = {p.name: p.id for p in session.scalars(select(Priority))}
        if session.scalar(select(HelpTopic.id).limit(1)) is None:
            problem = HelpTopic(
                name="Report a Problem",
                department_id=departments["Support"],
                priority_id=priorities["Normal"],
                sla_id=plan_ids["Default"],
            )
            session.add(problem)
            session.flush()
            session.add_all(
                [
                    HelpTopic(
                        name="Business Critical Outage",
                        parent_id=problem.id,
                        department_id=departments["Support"],
                        priority_id=priorities["Emergency"],
                        sla_id=plan_ids["Sev-A"],
                        assign_team_id=teams["Level 2"],
                    ),
                    HelpTopic(
                        name="Access Issue",
                        department_id=departments["Online Banking"],
                        priority_id=priorities["High"],
                        sla_id=plan_ids["Sev-B"],
                    ),
                    HelpTopic(name="Billing question", department_id=departments["Billing"], sla_id=plan_ids["Sev-C"]),
                    HelpTopic(name="Feedback", department_id=departments["Support"], priority_id=priorities["Low"]),
                ]
            )
        if session.scalar(select(CannedResponse.id).limit(1)) is None:
            session.add_all(
                CannedResponse(
                    title=title, body=body, department_id=departments.get(department or ""), updated_at=now()
                )
                for title, body, department in CANNED
            )


# title, text, department (None: every department's)
CANNED = (
    (
        "Thanks, we are on it",
        "Dear %{user.name},\n\nthank you for your message. We are looking into ticket %{ticket.number} and will "
        "write again as soon as we know more.\n\n%{agent.name}",
        None,
    ),
    (
        "Ask for a screenshot",
        "Could you send us a screenshot of the message you see, and tell us the time it happened?",
        None,
    ),
    (
        "Card blocked: unblock steps",
        "Your card was blocked after three wrong PINs. Sign in to Online Banking, open Cards › Unblock, and confirm "
        "with your TAN; the card works again within a minute.",
        "Online Banking",
    ),
)


def _agents(db: Database) -> dict[str, AgentActor]:
    with db.transaction(write=False) as session:
        teams = {t.name: t.id for t in session.scalars(select(Team))}
    actors = {}
    for username, name, password, access, rights, team_names in AGENTS:
        first, last = name.lower().split()[0], name.lower().split()[-1]
        actors[username] = accounts.add_agent(
            db,
            SYSTEM,
            username=username,
            name=name,
            email=f"{_ascii(first)}.{_ascii(last)}@{AGENT_DOMAIN}",
            password=password,
            access=access,
            rights=rights,
            teams=[teams[t] for t in team_names],
        )
    with db.transaction() as session:
        managers = {"Support": "sam", "Online Banking": "priya", "Billing": "tom"}
        for department in session.scalars(select(Department)):
            if department.name in managers:
                department.manager_id = actors[managers[department.name]].id
        leads = {"Level 2": "maria", "Billing desk": "tom"}
        for team in session.scalars(select(Team)):
            if team.name in leads:
                team.lead_id = actors[leads[team.name]].id
    return actors


def _ascii(name: str) -> str:
    return name.translate(str.maketrans("áéíóúñçčšžłøöüä", "aeiouncczslooua"))


def _named_users(db: Database, rng: random.Random) -> None:
    seen: set[str] = set()
    for first, last in zip(FIRST_NAMES[:NAMED_USERS], rng.sample(LAST_NAMES, NAMED_USERS), strict=True):
        domain, organization = DOMAINS[0] if len(seen) < 6 else DOMAINS[1] if len(seen) < 10 else rng.choice(DOMAINS)
        email = f"{_ascii(first.lower())}.{_ascii(last.lower())}@{domain}"
        if email in seen:
            continue
        seen.add(email)
        phone = f"+44 20 7946 {rng.randrange(10000):04d}" if rng.random() < 0.5 else None
        accounts.add_user(db, SYSTEM, email=email, name=f"{first} {last}", phone=phone, organization=organization)
    with db.transaction() as session:
        northwind = session.scalar(select(Organization).where(Organization.name == "Northwind Traders"))
        if northwind is not None:
            northwind.shares_tickets = True


def _load_refs(db: Database, actors: dict[str, AgentActor]) -> Refs:
    refs = Refs(agents=actors)
    with db.transaction(write=False) as session:
        departments = list(session.scalars(select(Department)))
        refs.departments = {d.name: d.id for d in departments}
        refs.department_plans = {d.id: d.sla_id for d in departments}
        refs.teams = {t.name: t.id for t in session.scalars(select(Team))}
        refs.plans = {p.name: p for p in session.scalars(select(SlaPlan))}
        topics = list(session.scalars(select(HelpTopic)))
        refs.topics = {t.name: t for t in topics}
        refs.statuses = {s.name: s for s in session.scalars(select(Status))}
        refs.priorities = {p.id: p for p in session.scalars(select(Priority))}
        refs.users = [(u.id, u.name, u.email) for u in session.scalars(select(User).order_by(User.id))]
        refs.schedules = {p.id: sla.schedule(session, p.schedule_id) for p in refs.plans.values()}
    return refs


# --- the showcase: tickets made through the services -----------------------------------------------------------


class Clock:
    """Real moments at which demo actions started, and the made-up moments they stand for.

    Services stamp what they write with the real time; afterwards every stamp is moved to the made-up moment of
    the action that wrote it (the last action that started at or before the stamp).
    """

    def __init__(self) -> None:
        self.real: list[datetime] = []
        self.fake: list[datetime] = []

    def at(self, moment: datetime) -> None:
        self.real.append(datetime.now(UTC))
        self.fake.append(moment)

    def map(self, value: datetime | None) -> datetime | None:
        if value is None or not self.real or value < self.real[0]:
            return value
        return self.fake[bisect.bisect_right(self.real, value) - 1]


@dataclass
class Story:
    """One showcase ticket: what it is about, who asks and answers, and how it ends."""

    fate: str
    scenario: Scenario
    start: datetime
    requester: tuple[int, str, str]
    handler: str
    senior: str
    source: TicketSource
    fields: dict[str, str]
    opening: str | None = None  # instead of the opening of one of the scenario's cases
    subject: str | None = None  # instead of the subject of one of the scenario's cases
    ticket_id: int = 0


# How showcase tickets end; the first of each are made whatever the count, so every queue has some.
REQUIRED_FATES = (
    "closed",
    "resolved",
    "new",
    "answered",
    "on_hold",
    "pending",
    "user_replied",
    "late",
    "reopened",
    "closed",
    "new",
    "team",
)
FATE_WEIGHTS = {
    "closed": 70,
    "resolved": 8,
    "new": 5,
    "answered": 4,
    "on_hold": 2,
    "pending": 3,
    "user_replied": 2,
    "late": 2,
    "reopened": 1,
    "team": 2,
}
HANDLERS = {  # department -> (agents who work its tickets, the senior who changes status and assigns)
    "Support": (("john", "sam", "maria"), "sam"),
    "Online Banking": (("priya", "maria"), "priya"),
    "Billing": (("tom", "lena"), "tom"),
}


def _scenario(rng: random.Random) -> Scenario:
    return rng.choices(SCENARIOS, weights=[s.weight for s in SCENARIOS])[0]


def _plan_stories(rng: random.Random, count: int, refs: Refs, now: datetime) -> list[Story]:
    fates = list(REQUIRED_FATES[:count])
    names, weights = zip(*FATE_WEIGHTS.items(), strict=True)
    fates += rng.choices(names, weights=weights, k=max(0, count - len(fates)))
    stories = []
    for fate in fates:
        scenario = _scenario(rng)
        if fate == "team":
            scenario = TEAM
        topic = refs.topics[TOPIC_OF_SCENARIO[scenario.topic]]
        department = next(name for name, i in refs.departments.items() if i == topic.department_id)
        handlers, senior = HANDLERS[department]
        handler = rng.choice(handlers)
        if scenario.topic == "outage":
            handler, senior = rng.choice(("john", "maria")), "maria"
        if fate == "closed":
            age = timedelta(days=rng.uniform(3, DAYS))
        elif fate in ("resolved", "reopened"):
            age = timedelta(hours=rng.uniform(20, 6 * 24))
        elif fate == "late":
            age = timedelta(hours=rng.uniform(30, 10 * 24))
        elif fate == "new":
            age = timedelta(minutes=rng.uniform(10, 16 * 60))
        else:
            age = timedelta(hours=rng.uniform(1, 40))
        requester = rng.choice(refs.users[:NAMED_USERS])
        source = rng.choices(list(TicketSource), weights=[5, 8, 3, 1])[0]
        fields = _fields(rng, requester[1].split()[0], refs.agent(handler).name.split()[0])
        stories.append(Story(fate, scenario, now - age, requester, handler, senior, source, fields))
    stories.sort(key=lambda story: story.start)
    return stories


class Showcase:
    """Runs the stories through the services, moving each action's time along the story's timeline."""

    def __init__(self, db: Database, refs: Refs, rng: random.Random, now: datetime) -> None:
        self.db, self.refs, self.rng, self.now = db, refs, rng, now
        self.clock = Clock()
        self.ids: list[int] = []
        self.reopened: list[int] = []

    def _text(self, story: Story, options: Sequence[str]) -> str:
        return self.rng.choice(options).format(**story.fields)

    def _later(self, moment: datetime, low: float, high: float, limit: datetime) -> datetime:
        """A moment `low`..`high` minutes after `moment`, never after `limit`."""
        step = moment + timedelta(minutes=self.rng.uniform(low, high))
        return min(step, limit)

    def open(self, story: Story, subject: str | None = None, body: str | None = None) -> int:
        refs, sc = self.refs, story.scenario
        topic = refs.topics[TOPIC_OF_SCENARIO[sc.topic]]
        actor: SystemActor | AgentActor = SYSTEM
        if story.source == TicketSource.PHONE:
            actor = refs.agent(story.senior)
        self.clock.at(story.start)
        case_subject, case_opening = self.rng.choice(sc.cases)
        view = tickets.open_ticket(
            self.db,
            actor,
            subject=subject or story.subject or case_subject.format(**story.fields),
            body=body or story.opening or case_opening.format(**story.fields),
            requester_email=story.requester[2],
            requester_name=story.requester[1],
            source=story.source,
            topic_id=topic.id,
            at=story.start,
        )
        story.ticket_id = view.id
        self.ids.append(view.id)
        return view.id

    def run(self, story: Story) -> None:
        """Play one story through to its fate."""
        db, refs, rng = self.db, self.refs, self.rng
        sc, fate = story.scenario, story.fate
        tid = self.open(story)
        handler, senior = refs.agent(story.handler), refs.agent(story.senior)
        end = self.now - timedelta(minutes=rng.uniform(2, 30))
        if fate == "closed":
            end = min(end, story.start + timedelta(days=rng.uniform(0.5, 4)))
        moment = story.start
        if fate == "new":
            return
        if fate == "team":
            moment = self._later(moment, 5, 90, end)
            self.clock.at(moment)
            tickets.assign_team(
                db, senior, tid, refs.teams["Level 2"], note="Needs Level 2: the payment engine took the debit twice."
            )
            handler = refs.agent("john")
        if fate == "late":
            if rng.random() < 0.5:
                self.clock.at(self._later(moment, 5, 60, end))
                tickets.assign(db, senior, tid, handler.id)
            return
        moment = self._later(moment, 10, 240, end)
        self.clock.at(moment)
        tickets.claim(db, handler, tid)
        if rng.random() < 0.35:
            moment = self._later(moment, 1, 30, end)
            self.clock.at(moment)
            entries.post_note(db, handler, tid, self._text(story, sc.notes))
        if fate == "on_hold":
            moment = self._later(moment, 5, 60, end)
            self.clock.at(moment)
            entries.post_note(db, handler, tid, self._text(story, sc.notes))
            self.clock.at(self._later(moment, 1, 10, end))
            lifecycle.set_status(db, senior, tid, refs.statuses["On hold"].id, note="Waiting for the vendor.")
            return
        moment = self._later(moment, 5, 120, end)
        self.clock.at(moment)
        if fate == "pending":
            pending = refs.statuses["Pending"].id
            topic = refs.topics[TOPIC_OF_SCENARIO[sc.topic]]
            if Perm.TICKET_EDIT in handler.perms_on(topic.department_id, handler.id, None):
                entries.post_reply(db, handler, tid, self._text(story, sc.replies), status_id=pending)
            else:  # the handler's role cannot change the status: their senior colleague does
                entries.post_reply(db, handler, tid, self._text(story, sc.replies))
                self.clock.at(self._later(moment, 1, 20, end))
                lifecycle.set_status(db, senior, tid, pending, note="Waiting for the customer's answer.")
            return
        entries.post_reply(db, handler, tid, self._text(story, sc.replies))
        if fate in ("answered", "team"):
            return
        rounds = 1 if fate != "closed" else rng.choice((0, 1, 1, 2))
        for _ in range(rounds):
            moment = self._later(moment, 30, 600, end)
            self.clock.at(moment)
            entries.add_message(db, SYSTEM, tid, self._text(story, sc.followups), from_user_id=story.requester[0])
            if fate == "user_replied":
                return
            if rng.random() < 0.4:
                moment = self._later(moment, 5, 120, end)
                self.clock.at(moment)
                entries.post_note(db, handler, tid, self._text(story, sc.notes))
            moment = self._later(moment, 10, 300, end)
            self.clock.at(moment)
            entries.post_reply(db, handler, tid, self._text(story, sc.replies))
        moment = self._later(moment, 30, 900, end)
        self.clock.at(moment)
        final = "Closed" if fate == "closed" and moment < self.now - timedelta(days=7) else "Resolved"
        entries.post_reply(db, handler, tid, self._text(story, sc.fixes), status_id=refs.statuses[final].id)
        if fate == "reopened":
            moment = self._later(moment, 60, 900, self.now - timedelta(minutes=1))
            self.clock.at(moment)
            entries.add_message(
                db,
                SYSTEM,
                tid,
                "Sorry, it's happening again." + SIGN.format(**story.fields),
                from_user_id=story.requester[0],
            )
            self.reopened.append(tid)
        elif final == "Closed" and rng.random() < 0.25:
            rating = rng.choice((5, 5, 5, 4, 4, 3, 2))
            comment = rng.choice(("Quick and friendly, thank you!", "Solved, but it took a while.", None))
            user = UserActor(id=story.requester[0], name=story.requester[1], email=story.requester[2])
            self.clock.at(self._later(moment, 60, 2000, self.now - timedelta(minutes=1)))
            lifecycle.leave_feedback(db, user, tid, rating, comment)

    def long_thread(
        self,
        start: datetime,
        requester: tuple[int, str, str],
        size: int | None = None,
        subject: str = LONG_THREAD_SUBJECT,
    ) -> int:
        """One ticket with `size` (LONG_THREAD) entries: a problem that came back for weeks."""
        size = LONG_THREAD if size is None else size
        story = Story(
            "long",
            next(s for s in SCENARIOS if s.topic == "problem"),
            start,
            requester,
            "maria",
            "priya",
            TicketSource.EMAIL,
            _fields(self.rng, requester[1].split()[0], "Maria"),
        )
        tid = self.open(story, subject=subject, body=LONG_THREAD_OPENING.format(**story.fields))
        maria = self.refs.agent("maria")
        self.clock.at(start + timedelta(minutes=20))
        tickets.claim(self.db, maria, tid)
        step = (self.now - timedelta(hours=2) - start) / size
        moment = start
        for n in range(1, size):
            moment += step
            self.clock.at(moment)
            fields = _fields(self.rng, story.fields["first"], "Maria")
            if n % 3 == 1:
                text = self.rng.choice(LONG_THREAD_MESSAGES)
                entries.add_message(self.db, SYSTEM, tid, text.format(**fields), from_user_id=requester[0])
            elif n % 3 == 2:
                text = (
                    "Hi {first}, thanks for the new log ({ref}). We deployed another change to the sync "
                    "service; please tell us how tonight's run goes.\n\nMaria"
                )
                entries.post_reply(self.db, maria, tid, text.format(**fields))
            else:
                text = "Sync job {ref}: {n} accounts failed with timeout at the export step. Watching."
                entries.post_note(self.db, maria, tid, text.format(**fields))
        return tid

    def pairs(self) -> None:
        """A merged pair (the same problem reported twice) and a linked pair (two reports of one outage)."""
        db, refs, rng = self.db, self.refs, self.rng
        admin = refs.agent("admin")
        requester = refs.users[3]
        outage = next(s for s in SCENARIOS if s.topic == "outage")
        start = self.now - timedelta(hours=rng.uniform(30, 60))
        first = Story(
            "pair",
            outage,
            start,
            requester,
            "john",
            "maria",
            TicketSource.EMAIL,
            _fields(rng, requester[1].split()[0], "John"),
        )
        parent = self.open(first)
        second = Story(
            "pair", outage, start + timedelta(minutes=25), requester, "john", "maria", TicketSource.WEB, first.fields
        )
        child = self.open(second)
        self.clock.at(start + timedelta(minutes=40))
        lifecycle.merge(db, admin, parent, [child], note="Same outage reported twice.")
        self.clock.at(start + timedelta(minutes=45))
        entries.post_reply(db, refs.agent("john"), parent, self._text(first, outage.replies))
        other = refs.users[12]
        third = Story(
            "pair",
            outage,
            start + timedelta(minutes=50),
            other,
            "maria",
            "maria",
            TicketSource.PHONE,
            _fields(rng, other[1].split()[0], "Maria"),
        )
        linked = self.open(third)
        self.clock.at(start + timedelta(minutes=55))
        lifecycle.link(db, admin, parent, linked, note="Both are the gateway outage.")
        cc = refs.users[4]
        self.clock.at(start + timedelta(minutes=56))
        lifecycle.add_collaborator(db, refs.agent("maria"), parent, cc[2], name=cc[1])


def _backdate(db: Database, showcase: Showcase) -> None:
    """Move every stamp the services wrote to the made-up moment of its action, in one transaction."""
    clock = showcase.clock
    ids = showcase.ids
    with db.transaction() as session:
        connection = session.connection()
        for name in ("thread_entries", "thread_events", "changes", "agent_alerts"):
            table = TABLES[name]
            rows = session.execute(select(table.c.id, table.c.created_at).where(table.c.ticket_id.in_(ids))).all()
            moved = [{"row_id": i, "at": clock.map(at)} for i, at in rows if clock.map(at) != at]
            if moved:
                connection.execute(
                    update(table).where(table.c.id == bindparam("row_id")).values(created_at=bindparam("at")), moved
                )
        columns = (
            "updated_at",
            "first_responded_at",
            "last_message_at",
            "last_response_at",
            "closed_at",
            "sla_paused_at",
        )
        table = TABLES["tickets"]
        rows = session.execute(select(table.c.id, *(table.c[c] for c in columns)).where(table.c.id.in_(ids))).all()
        moved = [{"row_id": row[0], **{c: clock.map(v) for c, v in zip(columns, row[1:], strict=True)}} for row in rows]
        if moved:
            connection.execute(
                update(table).where(table.c.id == bindparam("row_id")).values({c: bindparam(c) for c in columns}),
                moved,
            )
        feedback = TABLES["feedback"]
        rows = session.execute(select(feedback.c.ticket_id, feedback.c.created_at)).all()
        if rows:
            connection.execute(
                update(feedback).where(feedback.c.ticket_id == bindparam("row_id")).values(created_at=bindparam("at")),
                [{"row_id": i, "at": clock.map(at)} for i, at in rows],
            )
        # A reopened ticket got a fresh deadline counted from the real moment of reopening: count it again.
        for ticket_id in showcase.reopened:
            reopened_at = session.scalar(
                select(func.max(ThreadEvent.created_at)).where(
                    ThreadEvent.ticket_id == ticket_id, ThreadEvent.kind == EventKind.REOPENED.value
                )
            )
            ticket = session.get(Ticket, ticket_id)
            if ticket is not None and reopened_at is not None and ticket.state == StatusState.OPEN.value:
                sla.start_clock(session, ticket, reopened_at)
        # The requesters and agents were there before the first ticket.
        rng, start = showcase.rng, showcase.now - timedelta(days=DAYS)
        users = TABLES["users"]
        connection.execute(
            update(users).where(users.c.id == bindparam("row_id")).values(created_at=bindparam("at")),
            [
                {"row_id": user_id, "at": start - timedelta(days=rng.uniform(1, 700))}
                for user_id, _, _ in showcase.refs.users[:NAMED_USERS]
            ],
        )
        agent_ids = [agent.id for agent in showcase.refs.agents.values()]
        session.execute(
            update(TABLES["agents"])
            .where(TABLES["agents"].c.id.in_(agent_ids))
            .values(created_at=start - timedelta(days=400))
        )


def _mark_overdue(db: Database, now: datetime) -> int:
    """The worker's overdue pass, run at the moments it would have flagged each late ticket."""
    with db.transaction(write=False) as session:
        late = session.execute(
            select(Ticket.id, Ticket.due_at, Ticket.updated_at).where(
                Ticket.state == StatusState.OPEN.value,
                Ticket.overdue.is_(False),
                Ticket.due_at < now,
                Ticket.sla_paused_at.is_(None),
            )
        ).all()
    flagged = 0
    when = {i: min(now, due.replace(second=0, microsecond=0) + timedelta(minutes=2)) for i, due, _ in late}
    for moment in sorted(set(when.values())):
        while True:
            marked = lifecycle.mark_overdue(db, SYSTEM, at=moment)
            flagged += len(marked)
            if len(marked) < 500:
                break
    # The worker's stamp must not hide later activity from the queue's "last update".
    restore = [{"row_id": i, "at": updated} for i, _, updated in late if updated > when[i]]
    if restore:
        with db.transaction() as session:
            table = TABLES["tickets"]
            session.connection().execute(
                update(table).where(table.c.id == bindparam("row_id")).values(updated_at=bindparam("at")), restore
            )
    return flagged


def _showcase(
    db: Database, refs: Refs, rng: random.Random, count: int, now: datetime, progress: Progress, *, longest: bool
) -> Showcase:
    """`count` tickets: stories of every fate, the long thread (and the longest), a merged and a linked pair."""
    showcase = Showcase(db, refs, rng, now)
    extras = count >= 8
    stories = _plan_stories(rng, count - 4 - longest if extras else count, refs, now)
    long_start = now - timedelta(days=min(DAYS - 5, 40))
    long_done = not extras
    closed = [story for story in stories if story.fate == "closed"]
    # Another closed story of the same department takes the rare word when none is about cards (a small demo):
    # its handler and senior work in that department.
    cards_department = refs.topics[TOPIC_OF_SCENARIO[CARDS.topic]].department_id
    same_department = [
        s for s in closed if refs.topics[TOPIC_OF_SCENARIO[s.scenario.topic]].department_id == cards_department
    ]
    rare = next((story for story in closed if story.scenario is CARDS), same_department[0] if same_department else None)
    if rare is not None:  # the one showcase ticket with the rare search word
        rare.scenario, rare.subject, rare.opening = CARDS, RARE_SUBJECT, RARE_OPENING.format(**rare.fields)
    for n, story in enumerate(stories, 1):
        if not long_done and story.start > long_start:
            showcase.long_thread(long_start, refs.users[7])
            long_done = True
        showcase.run(story)
        if n % 50 == 0:
            progress(f"  {n:,} of {len(stories):,} showcase tickets")
    if not long_done:
        showcase.long_thread(long_start, refs.users[7])
    if extras and longest:
        showcase.long_thread(long_start, refs.users[8], LONGEST_THREAD, LONGEST_THREAD_SUBJECT)
    if extras:
        showcase.pairs()
    return showcase


# --- bulk load --------------------------------------------------------------------------------------------------


def _document_text(number: str, subject: str, name: str, email: str, bodies: Sequence[str]) -> str:
    """A ticket's search document, as the search module writes it (or its words, if it has no helper for that)."""
    helper = getattr(search, "document_text", None)
    if helper is not None:
        return str(helper(number, subject, name, email, bodies))
    return " ".join(words(" ".join((number, subject, name, email, *bodies))))


@dataclass(frozen=True)
class TopicInfo:
    """What a help topic gives a bulk-loaded ticket (the defaults `open_ticket` applies)."""

    topic_id: int
    topic_name: str
    department_id: int
    department_name: str
    priority: Priority
    plan: SlaPlan | None
    team_id: int | None


@dataclass
class Batch:
    tickets: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)


GRACE = timedelta(minutes=2)  # how long after a deadline the worker's overdue pass flags the ticket
# How open tickets stand: fresh ones (under two days) and older ones, which mostly wait for the customer.
OPEN_WEIGHTS = {"new": 30, "answered": 25, "user_replied": 15, "on_hold": 10, "pending": 15, "team": 5}
OLD_OPEN_WEIGHTS = {"new": 4, "answered": 12, "user_replied": 10, "on_hold": 20, "pending": 46, "team": 8}
OPEN_DECAY_DAYS = 8  # a ticket's chance to be still open falls by e every 8 days: ~15% of 60 days' tickets are open
OPEN_FLOOR = 0.03


class BulkTickets:
    """Ticket rows with their thread entries, events and search documents, made by the rules the services apply:
    topic defaults, SLA due times over business hours, answered, overdue passes, status events, auto-close."""

    def __init__(
        self, refs: Refs, rng: random.Random, now: datetime, count: int, first_id: int, numbers: Iterator[str]
    ) -> None:
        self.refs, self.rng, self.now, self.count, self.first_id, self.numbers = (
            refs,
            rng,
            now,
            count,
            first_id,
            numbers,
        )
        self.days = DAYS
        self.start = now - timedelta(days=self.days)
        default_priority = next(p for p in refs.priorities.values() if p.is_default)
        departments = {i: name for name, i in refs.departments.items()}
        plans = {p.id: p for p in refs.plans.values()}
        default_plan = refs.plans.get("Default")
        self.topics: dict[str, TopicInfo] = {}
        for key, name in TOPIC_OF_SCENARIO.items():
            topic = refs.topics[name]
            plan_id = (
                topic.sla_id
                or refs.department_plans.get(topic.department_id)
                or (default_plan.id if default_plan else None)
            )
            parent = refs.topics.get("Report a Problem")
            shown = (
                f"{parent.name} / {topic.name}" if parent is not None and topic.parent_id == parent.id else topic.name
            )
            self.topics[key] = TopicInfo(
                topic_id=topic.id,
                topic_name=shown,
                department_id=topic.department_id,
                department_name=departments[topic.department_id],
                priority=refs.priorities[topic.priority_id] if topic.priority_id else default_priority,
                plan=plans.get(plan_id) if plan_id else None,
                team_id=topic.assign_team_id,
            )
        self.handlers: dict[int, tuple[list[AgentActor], AgentActor]] = {
            refs.departments[name]: ([refs.agent(a) for a in agents], refs.agent(senior))
            for name, (agents, senior) in HANDLERS.items()
        }
        self.level2 = [refs.agent("john"), refs.agent("maria")]
        self.level2_team = refs.teams["Level 2"]
        st = refs.statuses
        self.status = {name: {"id": s.id, "name": s.name} for name, s in st.items()}
        self.scenario_weights = [s.weight for s in SCENARIOS]

    # one ticket ----------------------------------------------------------------------------------------------

    def _due(self, plan: SlaPlan | None, start: datetime) -> tuple[datetime | None, datetime | None]:
        if plan is None:
            return None, None
        hours = self.refs.schedules.get(plan.id)
        first = (
            sla_domain.add_business_time(start, timedelta(hours=plan.first_response_hours), hours)
            if plan.first_response_hours is not None
            else None
        )
        return first, sla_domain.add_business_time(start, timedelta(hours=plan.resolution_hours), hours)

    def ticket(self, ticket_id: int, opened: datetime, out: Batch) -> None:
        rng, now = self.rng, self.now
        rare = rng.random() < RARE_RATE
        scenario = CARDS if rare else rng.choices(SCENARIOS, weights=self.scenario_weights)[0]
        age = (now - opened).total_seconds() / 86400
        if rng.random() < OPEN_FLOOR + 0.9 * math.exp(-age / OPEN_DECAY_DAYS):
            weights = OPEN_WEIGHTS if age < 2 else OLD_OPEN_WEIGHTS
            fate = rng.choices(list(weights), weights=list(weights.values()))[0]
        else:
            fate = "closed"
        if fate == "team":
            scenario = TEAM
        info = self.topics[scenario.topic]
        agents, senior = self.handlers[info.department_id]
        handler = rng.choice(self.level2 if info.team_id is not None or fate == "team" else agents)
        user_id, user_name, user_email = self.refs.users[rng.randrange(len(self.refs.users))]
        fields = _fields(rng, user_name.split()[0], handler.name.split()[0])
        case_subject, case_opening = (RARE_SUBJECT, RARE_OPENING) if rare else rng.choice(scenario.cases)
        subject, opening = case_subject.format(**fields), case_opening.format(**fields)
        source = rng.choices(("web", "email", "phone", "other"), weights=(5, 8, 3, 1))[0]
        number = next(self.numbers)

        # what happens, as (step, minutes after the previous step)
        steps: list[tuple[str, float]] = []
        assigned = fate != "new" or rng.random() < 0.3
        if fate == "team":
            steps.append(("team", rng.uniform(5, 120)))
        if assigned:
            steps.append(("assign", rng.uniform(5, 240)))
        if fate != "new" and rng.random() < 0.3:
            steps.append(("note", rng.uniform(1, 60)))
        if fate == "on_hold":
            steps += [("note", rng.uniform(5, 60)), ("hold", rng.uniform(1, 10))]
        elif fate == "pending":
            steps.append(("pending", rng.uniform(5, 480)))
        elif fate in ("answered", "user_replied", "team", "closed"):
            steps.append(("reply", rng.uniform(5, 480)))
            if fate == "user_replied":
                steps.append(("message", rng.uniform(30, 1440)))
            if fate == "closed":
                for _ in range(rng.choice((0, 1, 1, 2))):
                    steps.append(("message", rng.uniform(30, 1440)))
                    if rng.random() < 0.2:
                        steps.append(("note", rng.uniform(5, 120)))
                    steps.append(("reply", rng.uniform(10, 600)))
                steps.append(("fix", rng.uniform(30, 2880)))
        total = sum(minutes for _, minutes in steps)
        room = (now - GRACE - opened).total_seconds() / 60
        scale = min(1.0, room / total) if total > 0 else 1.0

        first_due, resolution_due = self._due(info.plan, opened)
        entries_out = out.entries
        events_out = out.events
        bodies = [opening]
        version = 1
        system = {"actor_kind": "system", "agent_id": None, "user_id": None}
        agent = {"actor_kind": "agent", "agent_id": handler.id, "user_id": None}
        by_senior = {"actor_kind": "agent", "agent_id": senior.id, "user_id": None}
        opener = by_senior if source == "phone" else system

        latest = opened

        def event(
            kind: str, at: datetime, actor: dict[str, Any], data: dict[str, Any], note: str | None = None
        ) -> None:
            nonlocal version, latest
            latest = max(latest, at)
            events_out.append(
                {
                    "ticket_id": ticket_id,
                    "kind": kind,
                    **actor,
                    "data": data,
                    "note": note,
                    "ticket_version": version,
                    "created_at": at,
                }
            )
            version += 1

        def entry(kind: str, at: datetime, body: str, by_agent: bool) -> None:
            nonlocal latest
            latest = max(latest, at)
            entries_out.append(
                {
                    "ticket_id": ticket_id,
                    "kind": kind,
                    "author_kind": "agent" if by_agent else "user",
                    "agent_id": handler.id if by_agent else None,
                    "user_id": None if by_agent else user_id,
                    "body_text": body,
                    "body_html": None,
                    "recipients": [user_email] if kind == "reply" else None,
                    "created_at": at,
                    "edited_at": None,
                    "edited_by_id": None,
                }
            )
            bodies.append(body)

        entry("message", opened, opening, False)
        event(
            "created", opened, opener, {"source": source, "topic": info.topic_name, "department": info.department_name}
        )
        status, state = self.status["Open"], "open"
        team_id = info.team_id
        assignee: AgentActor | None = None
        answered = False
        first_reply: datetime | None = None
        last_message, last_response = opened, None
        paused: datetime | None = None
        closed_at: datetime | None = None
        moment = opened
        for step, minutes in steps:
            moment = moment + timedelta(minutes=minutes * scale)
            if step == "team":
                team_id = self.level2_team
                event(
                    "team_assigned",
                    moment,
                    by_senior,
                    {"before": None, "after": {"id": team_id, "name": "Level 2"}},
                    "Needs Level 2.",
                )
            elif step == "assign":
                assignee = handler
                actor = agent if rng.random() < 0.7 else by_senior
                event("assigned", moment, actor, {"before": None, "after": {"id": handler.id, "name": handler.name}})
            elif step == "note":
                entry("note", moment, rng.choice(scenario.notes).format(**fields), True)
            elif step in ("reply", "pending", "fix"):
                options = scenario.fixes if step == "fix" else scenario.replies
                entry("reply", moment, rng.choice(options).format(**fields), True)
                answered, last_response = True, moment
                first_reply = first_reply or moment
                if step == "pending":  # by the handler if their role may change the status, else their senior
                    by = (
                        agent
                        if Perm.TICKET_EDIT in handler.perms_on(info.department_id, handler.id, None)
                        else by_senior
                    )
                    event("status", moment, by, {"before": status, "after": self.status["Pending"]})
                    status, paused = self.status["Pending"], moment
                elif step == "fix":
                    final = "Closed" if moment < now - timedelta(days=7) else "Resolved"
                    via_resolved = final == "Closed" and rng.random() < 0.5
                    after = self.status["Resolved" if via_resolved else final]
                    event("resolved" if after == self.status["Resolved"] else "closed", moment, agent,
                          {"before": status, "after": after})  # fmt: skip
                    status, state, closed_at = after, "closed", moment
                    if via_resolved:
                        auto = min(moment + timedelta(days=7, minutes=rng.uniform(1, 60)), now - GRACE)
                        event(
                            "closed",
                            auto,
                            system,
                            {"before": after, "after": self.status["Closed"]},
                            "Closed automatically 7 days after resolution.",
                        )
                        status = self.status["Closed"]
            elif step == "message":
                entry("message", moment, rng.choice(scenario.followups).format(**fields), False)
                answered, last_message = False, moment
            elif step == "hold":
                event(
                    "status",
                    moment,
                    by_senior,
                    {"before": status, "after": self.status["On hold"]},
                    "Waiting for the vendor.",
                )
                status = self.status["On hold"]

        # the worker's overdue passes: the first-response deadline, then the resolution deadline
        end = closed_at or paused or now
        overdue = False
        deadline = first_due if first_due is not None else resolution_due
        until = first_reply if first_reply is not None and first_reply < end else end
        if deadline is not None and deadline + GRACE < until:
            event("overdue", deadline + GRACE, system, {"due": deadline.isoformat()})
            overdue = True
        if first_due is not None and first_reply is not None and first_reply < end and resolution_due is not None:
            if resolution_due > first_reply:
                overdue = False
            if not overdue and resolution_due + GRACE < end:
                event("overdue", resolution_due + GRACE, system, {"due": resolution_due.isoformat()})
                overdue = True
        if state != "open":
            overdue = False
        due = first_due if first_reply is None and first_due is not None else resolution_due
        figures = self._report_figures(info.plan, opened, first_reply, first_due, paused, closed_at, resolution_due)
        out.tickets.append(
            {
                "id": ticket_id,
                "number": number,
                "subject": subject,
                "requester_id": user_id,
                "department_id": info.department_id,
                "topic_id": info.topic_id,
                "priority_id": info.priority.id,
                "priority_level": info.priority.level,
                "status_id": status["id"],
                "state": state,
                "sla_id": info.plan.id if info.plan else None,
                "assignee_id": assignee.id if assignee else None,
                "team_id": team_id,
                "source": source,
                "created_at": opened,
                "updated_at": latest,
                "first_response_due": first_due,
                "resolution_due": resolution_due,
                "due_at": due or NO_DUE,
                "sla_paused_at": paused if state == "open" else None,
                "first_responded_at": first_reply,
                "answered": answered,
                "overdue": overdue,
                "closed_at": closed_at,
                "reopen_count": 0,
                "last_message_at": last_message,
                "last_response_at": last_response,
                "merged_into_id": None,
                "version": version,
                **figures,
                **ticket_sort_keys(
                    subject, user_name, assignee.name if assignee else None, info.department_name, str(status["name"])
                ),
            }
        )
        out.documents.append(
            {"ticket_id": ticket_id, "content": _document_text(number, subject, user_name, user_email, bodies)}
        )

    def _report_figures(
        self,
        plan: SlaPlan | None,
        opened: datetime,
        first_reply: datetime | None,
        first_due: datetime | None,
        paused: datetime | None,
        closed_at: datetime | None,
        resolution_due: datetime | None,
    ) -> dict[str, Any]:
        """The measures the SLA clock writes on a ticket for the reports (desk.services.sla), for a demo ticket:
        its only pause (Pending) starts at a reply and lasts until it is resolved or closed."""
        hours = self.refs.schedules.get(plan.id) if plan else None
        paused_for = sla_domain.business_time_between(paused, closed_at, hours) if paused and closed_at else None
        figures: dict[str, Any] = {
            "paused_seconds": int(paused_for.total_seconds()) if paused_for else 0,
            "first_response_seconds": None,
            "first_response_met": None,
            "resolution_seconds": None,
            "resolution_met": None,
        }
        if first_reply is not None:
            figures["first_response_seconds"] = int(
                sla_domain.business_time_between(opened, first_reply, hours).total_seconds()
            )
            figures["first_response_met"] = None if first_due is None else first_reply <= first_due
        if closed_at is not None:
            spent = sla_domain.business_time_between(opened, closed_at, hours).total_seconds()
            figures["resolution_seconds"] = int(spent) - figures["paused_seconds"]
            if resolution_due is not None and paused is not None:
                resolution_due = sla_domain.resume_due(resolution_due, paused, closed_at, hours)
            figures["resolution_met"] = None if resolution_due is None else closed_at <= resolution_due
        return figures

    def batches(self, size: int) -> Iterator[Batch]:
        """The tickets in batches, oldest first, ids counting up from `first_id`."""
        span = self.now - timedelta(minutes=5) - self.start
        for first in range(0, self.count, size):
            batch = Batch()
            for n in range(first, min(first + size, self.count)):
                opened = self.start + span * ((n + self.rng.random()) / self.count)
                self.ticket(self.first_id + n, opened, batch)
            yield batch


def _numbers(rng: random.Random, pattern: str, count: int, taken: set[str]) -> Iterator[str]:
    """Distinct random ticket numbers in the format, none of them already taken."""
    for value in rng.sample(range(10 ** pattern.count("#")), count + len(taken)):
        number = sequence_number(pattern, value)
        if number not in taken:
            yield number


def _widened(pattern: str, tickets: int) -> str:
    """The number format with room for the tickets: random numbers fill at most a tenth of the format's range."""
    places = pattern.count("#")
    if tickets * 10 <= 10**places:
        return pattern
    extra = math.ceil(math.log10(tickets * 100)) - places
    return re.sub("#+", lambda match: match.group() + "#" * extra, pattern, count=1)


def _bulk_users(db: Database, rng: random.Random, count: int, now: datetime) -> None:
    """More requesters, so that a big help desk has ~20 tickets per person rather than thousands."""
    with db.transaction() as session:
        organizations = {o.name: o.id for o in session.scalars(select(Organization))}
        rows = []
        for k in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            domain, organization = rng.choices(DOMAINS, weights=(1, 1, 6, 6, 6, 4, 4))[0]
            rows.append(
                {
                    "name": f"{first} {last}",
                    "email": f"{_ascii(first.lower())}.{_ascii(last.lower())}{k + 1}@{domain}",
                    "phone": None,
                    "organization_id": organizations.get(organization) if organization else None,
                    "password_hash": None,
                    "banned": False,
                    "failed_logins": 0,
                    "locked_until": None,
                    "created_at": now - timedelta(days=rng.uniform(0, 3 * 365)),
                }
            )
        _insert(session.connection(), TABLES["users"], rows)


def _insert(connection: Connection, table: Any, rows: list[dict[str, Any]], chunk: int = 10000) -> None:
    for start in range(0, len(rows), chunk):
        connection.execute(insert(table), rows[start : start + chunk])


T = TypeVar("T")


def _prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """The items, made in a thread ahead of the caller: Python builds the next batch while the database writes."""
    pending: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def work() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        pending.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            pending.put(end)
        except BaseException as error:  # handed to the consumer, which raises it
            pending.put(error)

    thread = threading.Thread(target=work, name="demo-batches", daemon=True)
    thread.start()
    try:
        while True:
            item = pending.get()
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _tune_for_load(connection: Connection, dialect: str) -> None:
    """Session settings for a bulk load; the connection is thrown away afterwards, and the settings with it."""
    statements = {
        "sqlite": ("PRAGMA cache_size = -262144",),  # 256 MiB of page cache for the index updates
        "postgresql": ("SET synchronous_commit TO off", "SET gin_pending_list_limit TO '64MB'"),
        "mysql": ("SET SESSION foreign_key_checks = 0, unique_checks = 0",),
        "mariadb": ("SET SESSION foreign_key_checks = 0, unique_checks = 0",),
    }
    for statement in statements.get(dialect, ()):
        connection.exec_driver_sql(statement)
    connection.commit()


def _bulk(db: Database, refs: Refs, rng: random.Random, count: int, now: datetime, progress: Progress) -> None:
    with db.transaction(write=False) as session:
        first_id = (session.scalar(select(func.max(Ticket.id))) or 0) + 1
        pattern = settings.get(session, "ticket.number_format")
        taken = set(session.scalars(select(Ticket.number)))
    maker = BulkTickets(refs, rng, now, count, first_id, _numbers(rng, pattern, count, taken))
    progress(f"{count:,} more tickets by bulk INSERTs, over the last {maker.days:,.0f} days")
    connection = db.engine.execution_options(desk_write=True).connect()
    started = time.perf_counter()
    try:
        _tune_for_load(connection, db.dialect)
        done, reported = 0, 0
        every = max(BATCH, count // 20)
        for batch in _prefetch(maker.batches(BATCH)):
            with connection.begin():
                _insert(connection, TABLES["tickets"], batch.tickets)
                _insert(connection, TABLES["thread_entries"], batch.entries)
                _insert(connection, TABLES["thread_events"], batch.events)
                _insert(connection, TABLES["search_documents"], batch.documents)
            done += len(batch.tickets)
            if done - reported >= every or done == count:
                reported = done
                rate = done / (time.perf_counter() - started)
                progress(f"  {done:,} of {count:,} tickets ({rate:,.0f} a second)")
        if db.dialect == "postgresql":  # explicit ids leave the id sequence behind
            with connection.begin():
                connection.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('tickets', 'id'), (SELECT max(id) FROM tickets))"
                )
    finally:
        connection.invalidate()
        connection.close()
    progress("Tallies for the sidebar counts")
    with db.transaction() as session:
        tallies.rebuild(session)
    progress("Statistics for the query planner")
    _analyze(db)


def _analyze(db: Database) -> None:
    tables = ("tickets", "thread_entries", "thread_events", "search_documents", "users", "ticket_tallies")
    if db.dialect == "postgresql":
        # VACUUM as well: it also sets the visibility map, so index-only scans work at once after the load.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE) " + ", ".join(tables))
    elif db.dialect in ("mysql", "mariadb"):
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE TABLE " + ", ".join(tables)).all()
    else:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


# --- the whole demo --------------------------------------------------------------------------------------------


def build_demo(db: Database, *, tickets: int = 300, progress: Progress = lambda _: None) -> str:
    """Fill an empty Desk database with a bank's help desk and `tickets` tickets; returns a summary to show.

    Adds nothing when the demo agents exist already. Deterministic but for ticket numbers and password salts.
    """
    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(SEED)
    with db.transaction() as session:
        install_defaults(session)
        if session.scalar(select(Agent.id).where(Agent.username.in_(("admin", "john"))).limit(1)) is not None:
            total = session.scalar(select(func.count()).select_from(Ticket)) or 0
            demo_admin = Agent.username == "admin", Agent.email.endswith(f"@{AGENT_DOMAIN}")
            if session.scalar(select(Agent.id).where(*demo_admin)) is not None:
                _mail_sink(session)  # a demo built before it had one
            return (
                f"The demo data is there already (the agents admin and john exist; {total:,} tickets), "
                "so nothing was added. Sign in as admin / demo-admin or john / demo-john."
            )
        pattern = settings.get(session, "ticket.number_format")
        if _widened(pattern, tickets) != pattern:
            settings.put(session, "ticket.number_format", _widened(pattern, tickets))
    progress("Departments, teams, SLA plans and help topics")
    _reference_data(db)
    progress(f"{len(AGENTS)} agents")
    actors = _agents(db)
    bulk = tickets - SHOWCASE if tickets > BULK_THRESHOLD else 0
    extra_users = max(0, min(tickets // 20, 100_000) - NAMED_USERS) if bulk else 0
    progress(f"{NAMED_USERS + extra_users:,} end users")
    _named_users(db, rng)
    if extra_users:
        _bulk_users(db, rng, extra_users, now)
    refs = _load_refs(db, actors)
    shown = tickets - bulk
    progress(f"{shown:,} tickets through the services")
    showcase = _showcase(db, refs, rng, shown, now, progress, longest=bool(bulk))
    _backdate(db, showcase)
    _mark_overdue(db, now)
    if bulk:
        _bulk(db, refs, rng, bulk, now, progress)
    with db.transaction() as session:  # last: the history above mailed nobody, what the visitor does from now on does
        _mail_sink(session)
        session.execute(update(AgentAlert).values(read_at=now))  # the history's alerts were seen long ago
    return _summary(db, time.perf_counter() - started)


def _mail_sink(session: Session) -> None:
    """The demo's outgoing mail goes into a sink that Desk shows (File › Demo mailbox in the agent window,
    /demo/mailbox on `desk serve` for this machine), never to a mail server: a support address without a server to
    send through, and the flag that keeps its mail. Left alone where mailboxes were set up."""
    if session.scalar(select(Mailbox.id).limit(1)) is None:
        name, address = DEMO_MAILBOX
        session.add(Mailbox(name=name, address=address))
        settings.put(session, "mail.demo_sink", True)


def _summary(db: Database, seconds: float) -> str:
    with db.transaction(write=False) as session:
        by_state = dict(session.execute(select(Ticket.state, func.count()).group_by(Ticket.state)).all())
        overdue = session.scalar(select(func.count()).select_from(Ticket).where(Ticket.overdue.is_(True))) or 0
        thread = session.scalar(select(func.count()).select_from(ThreadEntry)) or 0
        users = session.scalar(select(func.count()).select_from(User)) or 0
        agents = session.scalar(select(func.count()).select_from(Agent)) or 0
        topics = session.scalar(select(func.count()).select_from(HelpTopic)) or 0
        departments = ", ".join(session.scalars(select(Department.name).order_by(Department.id)))
        teams = ", ".join(session.scalars(select(Team.name).order_by(Team.id)))
        plans = ", ".join(session.scalars(select(SlaPlan.name).order_by(SlaPlan.id)))
    total = sum(by_state.values())
    open_count = by_state.get(StatusState.OPEN.value, 0)
    return (
        f"Demo data built in {seconds:,.1f} s: departments {departments}; teams {teams}; SLA plans {plans}; "
        f"{topics} help topics; {agents} agents; {users:,} end users; {total:,} tickets ({open_count:,} open, "
        f"{overdue:,} of them overdue; {by_state.get(StatusState.CLOSED.value, 0):,} resolved or closed) "
        f"with {thread:,} thread entries. Sign in as admin / demo-admin (administrator) or john / demo-john "
        "(Limited access in Support and Online Banking: he claims and answers tickets there, the administrator "
        "moves them; member of Level 2). Mail is not sent: File › Demo mailbox shows what Desk would have sent."
    )
