"""The `desk` command: database administration, accounts, demo data, and a look at queues and tickets."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections import Counter
from collections.abc import Sequence

from alembic import command as alembic_command

from desk import __version__
from desk.config import configured_url, database_url
from desk.domain.enums import Queue, SortKey
from desk.domain.errors import DeskError
from desk.domain.permissions import Right, SystemActor
from desk.domain.queues import Criteria
from desk.domain.views import EntryView, QueuePage, TicketView
from desk.services import accounts, queues, tickets
from desk.services.setup import install_defaults
from desk.storage.db import (
    Database,
    alembic_config,
    check_schema,
    current_revision,
    head_revision,
    is_older,
    other_connections,
)


def _db(args: argparse.Namespace, *, check: bool = True) -> Database:
    db = Database(database_url(args.url))
    if check:
        check_schema(db.engine)
    return db


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    db = _db(args, check=False)
    # A migration changes tables under the clients' feet: a running Desk would fail mid-action, or write with
    # the old schema's idea of a table. So it waits until the others have quit, unless the admin says otherwise.
    others = other_connections(db.engine)
    if others and not args.force:
        who = ", ".join(f"{name} ({n})" if n > 1 else name for name, n in Counter(others).most_common())
        print(
            f"desk: {len(others)} other connection{'s' if len(others) > 1 else ''} to this database: {who}. "
            "Ask everyone to quit Desk (and stop `desk worker` / `desk serve`) before upgrading, "
            "or run `desk db upgrade --force`.",
            file=sys.stderr,
        )
        db.dispose()
        return 1
    before = current_revision(db.engine)
    alembic_command.upgrade(alembic_config(db.engine.url), "head")
    with db.transaction() as session:
        install_defaults(session)
    print(f"Database at {head_revision()} (was {before or 'empty'}).")
    return 0


def cmd_db_check(args: argparse.Namespace) -> int:
    db = _db(args)
    print(f"Database schema {current_revision(db.engine)} matches this Desk {__version__}.")
    return 0


def cmd_agent_add(args: argparse.Namespace) -> int:
    db = _db(args)
    password = args.password or getpass.getpass(f"Password for {args.username}: ")
    access = dict(item.split("=", 1) for item in args.access)
    rights = [Right(r) for r in args.right] + ([Right.ADMIN] if args.admin else [])
    agent = accounts.add_agent(
        db,
        SystemActor(),
        username=args.username,
        name=args.name,
        email=args.email,
        password=password,
        access=access,
        rights=rights,
    )
    print(f"Agent {agent.name} added (id {agent.id}).")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    db = _db(args)
    user = accounts.add_user(
        db,
        SystemActor(),
        email=args.email,
        name=args.name,
        phone=args.phone,
        password=args.password,
        organization=args.organization,
    )
    print(f"End user {user.name} <{user.email}> added (id {user.id}).")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from desk.services.demo import build_demo  # only the demo command needs the sample-data generator

    db = _db(args, check=False)
    if is_older(current_revision(db.engine)):  # the demo database is ours to bring up to date
        alembic_command.upgrade(alembic_config(db.engine.url), "head")
    check_schema(db.engine)
    summary = build_demo(db, tickets=args.tickets, progress=print)
    print(summary)
    if args.open:
        print("Opening the agent window: sign in as admin / demo-admin or john / demo-john.")
        db.dispose()
        return cmd_gui(args, url=str(db.engine.url.render_as_string(hide_password=False)), username="admin")
    return 0


def cmd_gui(args: argparse.Namespace, url: str | None = None, username: str | None = None) -> int:
    """The agent window; without a configured database it asks for one (Qt is imported only here: the other
    commands run on servers without it)."""
    from desk.ui import app

    return app.main(url or configured_url(args.url), username=username)


def cmd_queue(args: argparse.Namespace) -> int:
    db = _db(args)
    agent = accounts.agent_by_username(db, args.agent)
    if args.queue == "counts":
        _print_counts(queues.queue_counts(db, agent))
        return 0
    page = queues.queue_page(db, agent, Criteria(queue=Queue(args.queue)), sort=SortKey(args.sort), limit=args.limit)
    _print_page(page)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    db = _db(args)
    agent = accounts.agent_by_username(db, args.agent)
    _print_page(queues.search_tickets(db, agent, " ".join(args.words), limit=args.limit))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    db = _db(args)
    agent = accounts.agent_by_username(db, args.agent)
    _print_ticket(tickets.find_ticket(db, agent, args.number))
    return 0


def _print_counts(counts: dict[Queue, int]) -> None:
    for queue, count in counts.items():
        print(f"  {queue.value.replace('_', ' ').title():<12} {count:>9,}")


def _print_page(page: QueuePage) -> None:
    print(f"{page.total:,} tickets")
    for row in page.rows:
        due = row.due.strftime("%Y-%m-%d %H:%M") if row.due else ""
        flag = "!" if row.overdue else " "
        print(
            f"  {row.number:<10} {row.updated_at:%Y-%m-%d %H:%M}  {row.subject[:40]:<40} {row.requester[:18]:<18} "
            f"{row.priority:<9} {(row.assignee or '—')[:14]:<14} {row.status:<9} {flag}{due}"
        )


def _print_ticket(ticket: TicketView) -> None:
    print(f"#{ticket.number}  {ticket.subject}")
    print(
        f"  {ticket.status.name} · {ticket.priority.name} · {ticket.department.name} · "
        f"{ticket.assignee.name if ticket.assignee else 'unassigned'} · from {ticket.requester.name}"
    )
    for item in ticket.thread:
        if isinstance(item, EntryView):
            print(f"\n  [{item.kind.value}] {item.author} {item.created_at:%Y-%m-%d %H:%M}")
            print("    " + item.body_text.strip().replace("\n", "\n    "))
        else:
            print(f"  - {item.kind.value} by {item.actor} {item.created_at:%Y-%m-%d %H:%M} {item.data}")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="desk", description="Desk help desk")
    root.add_argument("--version", action="version", version=f"desk {__version__}")
    root.add_argument("--url", help="database URL (default: DESK_DATABASE_URL, config file, or local SQLite)")
    root.set_defaults(run=cmd_gui)
    sub = root.add_subparsers(dest="command", title="commands (none: open the agent window)")

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    upgrade = db.add_parser("upgrade", help="create or migrate the schema to this version")
    upgrade.add_argument(
        "--force", action="store_true", help="upgrade even while other clients are connected to the database"
    )
    upgrade.set_defaults(run=cmd_db_upgrade)
    db.add_parser("check", help="verify the schema matches this version").set_defaults(run=cmd_db_check)

    agent = sub.add_parser("agent", help="agents").add_subparsers(dest="agent_command", required=True)
    add = agent.add_parser("add", help="add an agent")
    add.add_argument("username")
    add.add_argument("--name", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--password", help="prompted for when omitted")
    add.add_argument("--access", action="append", default=[], metavar="DEPARTMENT=ROLE")
    add.add_argument("--right", action="append", default=[], choices=[r.value for r in Right])
    add.add_argument("--admin", action="store_true")
    add.set_defaults(run=cmd_agent_add)

    user = sub.add_parser("user", help="end users").add_subparsers(dest="user_command", required=True)
    uadd = user.add_parser("add", help="add an end user")
    uadd.add_argument("email")
    uadd.add_argument("--name", required=True)
    uadd.add_argument("--phone")
    uadd.add_argument("--password")
    uadd.add_argument("--organization")
    uadd.set_defaults(run=cmd_user_add)

    demo = sub.add_parser("demo", help="fill the database with demo data")
    demo.add_argument("--tickets", type=int, default=300)
    demo.add_argument("--open", action="store_true", help="then open the agent window on it")
    demo.set_defaults(run=cmd_demo)

    for name, run in (("queue", cmd_queue), ("search", cmd_search), ("show", cmd_show)):
        command = sub.add_parser(name, help=f"{name} tickets as an agent")
        command.add_argument("--agent", default="admin", help="act as this agent")
        command.set_defaults(run=run)
        if name == "queue":
            command.add_argument("queue", choices=["counts", *[q.value for q in Queue]], default="open", nargs="?")
            command.add_argument("--sort", choices=[s.value for s in SortKey], default="updated")
        if name == "search":
            command.add_argument("words", nargs="+")
        if name == "show":
            command.add_argument("number")
        if name != "show":
            command.add_argument("--limit", type=int, default=25)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except DeskError as error:
        print(f"desk: {error}", file=sys.stderr)
        return 1
