"""Benchmark: what agent alerts add to a requester's message (alert.new_message to the assignee and followers).

    uv run python -m tests.perf.alerts_bench [--agents 3] [--messages 50] [--url sqlite:////tmp/desk-alerts.db]

A fresh database with a mailbox to send from; a ticket assigned to one agent and followed by the others. For each
way every agent may choose (by mail and in Desk, the default; by mail only; neither), prints the SQL statements of
one message and the median time of `--messages` messages. Figures only, never assertions.
"""

from __future__ import annotations

import argparse
import statistics
import time

from desk.domain.alerts import AlertChoice
from desk.domain.permissions import Right
from desk.services import accounts, alerts, entries, following, mailboxes, tickets
from desk.services.setup import install_defaults
from desk.storage.db import Database
from tests.conftest import build_schema
from tests.services.conftest import SYSTEM, statements_sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="sqlite:////tmp/desk-alerts-bench.db")
    parser.add_argument("--agents", type=int, default=3, help="the assignee and the followers (default 3)")
    parser.add_argument("--messages", type=int, default=50)
    args = parser.parse_args()
    db = Database(args.url)
    build_schema(db, args.url)
    with db.transaction() as session:
        install_defaults(session)
    admin = accounts.add_agent(
        db, SYSTEM, username="boss", name="Boss", email="boss@x.example", password="pw-123456", rights=(Right.ADMIN,)
    )
    agents = [
        accounts.add_agent(
            db,
            SYSTEM,
            username=f"a{n}",
            name=f"Agent {n}",
            email=f"a{n}@x.example",
            password="pw-123456",
            access={"Support": "All access"},
        )
        for n in range(args.agents)
    ]
    mailboxes.add_mailbox(db, admin, name="Support", address="support@x.example", smtp_host="127.0.0.1")
    requester = accounts.add_user(db, SYSTEM, email="alice@example.com", name="Alice")
    print(f"{db.dialect}: a requester's message, alerting {args.agents} agents")
    for mail, window in ((True, True), (True, False), (False, False)):
        for agent in agents:
            alerts.save_own_alert_choices(db, agent, [AlertChoice("alert.new_message", mail, window)])
        ticket = tickets.open_ticket(
            db, agents[0], subject="Printer", body="On fire", requester_email=requester.email, assignee_id=agents[0].id
        )
        for agent in agents[1:]:
            following.follow(db, agent, ticket.id)
        with statements_sent(db) as sent:
            entries.add_message(db, SYSTEM, ticket.id, "More", from_user_id=requester.id)
        times = []
        for _ in range(args.messages):
            started = time.perf_counter()
            entries.add_message(db, SYSTEM, ticket.id, "More", from_user_id=requester.id)
            times.append((time.perf_counter() - started) * 1000)
        way = {(True, True): "mail and Desk", (True, False): "mail only", (False, False): "neither"}[(mail, window)]
        print(f"  {way:14} {len(sent):3} statements, median {statistics.median(times):6.2f} ms a message")
    db.dispose()


if __name__ == "__main__":
    main()
