"""The `desk` command: database administration, accounts, demo data, and a look at queues and tickets."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from alembic import command as alembic_command

from desk import __version__
from desk.config import configured_url, database_url, secret_key_file
from desk.domain.enums import InboundState, Queue, SenderCheck, SortKey
from desk.domain.errors import DeskError
from desk.domain.inputs import MAX_ID, storable
from desk.domain.permissions import Right, SystemActor
from desk.domain.queues import Criteria
from desk.domain.views import EntryView, QueuePage, TicketView
from desk.services import (
    accounts,
    agent_sessions,
    api_tokens,
    directory,
    mailboxes,
    queues,
    reference,
    settings,
    tickets,
)
from desk.services.directory import Outcome
from desk.services.mail.outbound import NOTIFICATIONS
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
from desk.storage.roles import grant_runtime_rights, runtime_grants


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


def cmd_db_grants(args: argparse.Namespace) -> int:
    """The runtime role's rights as SQL, for the administrator to read or run; --apply runs them (as the owner)."""
    db = _db(args)
    with db.engine.begin() as connection:
        statements = (grant_runtime_rights if args.apply else runtime_grants)(connection, args.role)
    for statement in statements:
        print(f"{statement};")
    if args.apply:
        print(f"-- applied: {args.role} may read and write Desk's rows, and change nothing in its schema.")
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


def cmd_agent_active(args: argparse.Namespace) -> int:
    db = _db(args)
    agent_id, name = accounts.agent_named(db, args.username)
    ended = agent_sessions.set_active(db, SystemActor(), agent_id, args.active)
    if args.active:
        print(f"{name} is active again and can sign in.")
    else:
        print(f"{name} is deactivated: signed out of {ended} session(s); API tokens stop working.")
    return 0


def cmd_agent_sessions(args: argparse.Namespace) -> int:
    db = _db(args)
    agent_id, name = accounts.agent_named(db, args.username)
    if args.end:
        ended = agent_sessions.end_sessions(db, SystemActor(), agent_id)
        print(f"Ended {ended} session(s) of {name}: their Desk asks them to sign in again.")
        return 0
    views = agent_sessions.list_sessions(db, SystemActor(), agent_id=agent_id)
    if not views:
        print(f"{name} is not signed in anywhere.")
        return 0
    print(f"  {'id':>5} {'signed in (UTC)':<16}  {'last used':<16}  {'expires':<16}  client")
    for view in views:
        print(
            f"  {view.id:>5} {_utc(view.created_at):<16}  {_utc(view.last_used_at):<16}  "
            f"{_utc(view.expires_at):<16}  {view.client}"
        )
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
        print(
            "Opening the agent window: sign in as admin / demo-admin or john / demo-john. "
            "The demo's mail is in File › Demo mailbox."
        )
        db.dispose()
        return cmd_gui(args, url=str(db.engine.url.render_as_string(hide_password=False)), username="admin")
    return 0


def cmd_gui(args: argparse.Namespace, url: str | None = None, username: str | None = None) -> int:
    """The agent window; without a configured database it asks for one (Qt is imported only here: the other
    commands run on servers without it)."""
    if getattr(args, "smoke_test", False):
        from desk.ui import smoke

        return smoke.main(args.url)
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


SERVE_POOL = 10


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the Support Center and the API until interrupted."""
    from desk.web.serve import ServeOptions, run

    options = ServeOptions(
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        certificate=args.certificate,
        key=args.key,
        proxy=args.proxy,
        with_worker=args.with_worker,
    )
    # A server answers many people at once (uvicorn's thread pool runs the pages): a bigger pool than a Desk's.
    db = Database(database_url(args.url), pool_size=SERVE_POOL)
    check_schema(db.engine)
    run(db, options)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the worker's jobs until interrupted (Ctrl+C or SIGTERM from the service manager)."""
    import logging
    import signal
    import threading

    from desk.services.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    db = _db(args)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with db.transaction(write=False) as session:
        fetch_every = float(settings.get(session, "mail.fetch_seconds"))
    worker = Worker(db, fetch_every=fetch_every)
    if args.once:
        for job, result in worker.run_due().items():
            print(f"{job}: {result}")
        worker.stop()
        return 0
    print(f"Worker {worker.holder} running; Ctrl+C stops it.")
    worker.run_forever(stop)
    return 0


def _ask_passwords(imap_user: str | None, smtp_user: str | None) -> tuple[str | None, str | None]:
    imap_password = getpass.getpass(f"IMAP password for {imap_user}: ") if imap_user else None
    smtp_password = None
    if smtp_user:
        smtp_password = getpass.getpass(f"SMTP password for {smtp_user} (empty: the IMAP one): ") or imap_password
    return imap_password, smtp_password


def _where_passwords_are(imap_password: str | None, smtp_password: str | None) -> str:
    if not (imap_password or smtp_password):
        return "it has no passwords"
    return (
        f"its passwords are encrypted in the database with the key in {secret_key_file()}, which `desk serve` and "
        "`desk worker` must be able to read: run them as this account (keep a copy of the key apart from the "
        "database's backups)"
    )


def cmd_mailbox_add(args: argparse.Namespace) -> int:
    db = _db(args)
    imap_password, smtp_password = _ask_passwords(args.imap_user, args.smtp_user)
    view = mailboxes.add_mailbox(
        db,
        accounts.agent_by_username(db, args.agent),
        name=args.name or args.address,
        address=args.address,
        imap_host=args.imap_host,
        imap_port=args.imap_port,
        imap_security=args.imap_security,
        imap_user=args.imap_user,
        imap_password=imap_password,
        folder=args.folder,
        after_fetch=args.after_fetch,
        move_to=args.move_to,
        smtp_host=args.smtp_host,
        smtp_port=args.smtp_port,
        smtp_security=args.smtp_security,
        smtp_user=args.smtp_user,
        smtp_password=smtp_password,
        sender_check=SenderCheck(args.sender_check),
        auth_server=args.auth_server,
    )
    print(f"Mailbox {view.address} added (id {view.id}); {_where_passwords_are(imap_password, smtp_password)}.")
    return 0


def cmd_mailbox_edit(args: argparse.Namespace) -> int:
    db = _db(args)
    agent = accounts.agent_by_username(db, args.agent)
    if args.passwords:
        current = mailboxes.get_mailbox(db, agent, args.address)
        imap_password, smtp_password = _ask_passwords(current.imap_user, current.smtp_user)
        view = mailboxes.set_passwords(
            db, agent, args.address, imap_password=imap_password, smtp_password=smtp_password
        )
        print(f"Mailbox {view.address}: {_where_passwords_are(imap_password, smtp_password)}.")
    if args.sender_check or args.auth_server or not args.passwords:
        view = mailboxes.set_sender_check(
            db, agent, args.address, SenderCheck(args.sender_check or SenderCheck.REQUIRED), args.auth_server
        )
        print(f"Mailbox {view.address}: {_sender_check_text(view)}.")
    return 0


def _sender_check_text(view: mailboxes.MailboxView) -> str:
    if view.sender_check == SenderCheck.REQUIRED:
        return f"senders checked by {view.auth_server or '(no server named: none verified)'}"
    return "From trusted (relay)" if view.sender_check == SenderCheck.TRUSTED_RELAY else "senders never verified"


def cmd_mailbox_list(args: argparse.Namespace) -> int:
    for view in mailboxes.list_mailboxes(_db(args), accounts.agent_by_username(_db(args), args.agent)):
        print(
            f"  {view.id:>3} {view.address:<30} IMAP {view.imap or '—'} → {view.after_fetch}; SMTP {view.smtp or '—'}; "
            f"{_sender_check_text(view)}"
        )
    return 0


def cmd_mail_status(args: argparse.Namespace) -> int:
    from desk.services import worker

    db = _db(args)
    state = worker.status(db, accounts.agent_by_username(db, args.agent))
    for job in state.jobs:
        alive = f"held by {job.holder}" if job.alive else "no worker holds it"
        print(f"  {job.job:<18} {alive}; last: {job.last_error or job.last_result or 'never run'}")
    for box in state.mailboxes:
        print(f"  {box.address:<30} last fetch {box.last_fetch_at or 'never'}; {box.failures} failures")
    print(f"  outbox: {state.outbox_pending} waiting, {state.outbox_failed} failed this week")
    print(f"  quarantine: {state.quarantined} message(s)")
    for problem in state.problems():
        print(f"! {problem}")
    return 1 if state.problems() else 0


def cmd_mail_notify(args: argparse.Namespace) -> int:
    db = _db(args)
    agent = accounts.agent_by_username(db, args.agent)
    choices = reference.choices(db, agent)
    department = next((d.id for d in choices.departments if d.name == args.department), None)
    topic = next((t.id for t in choices.topics if t.name == args.topic), None)
    if (args.department and department is None) or (args.topic and topic is None):
        print(f"desk: no department or help topic named {args.department or args.topic!r}", file=sys.stderr)
        return 1
    mailboxes.switch_notification(db, agent, args.kind, args.state == "on", department_id=department, topic_id=topic)
    where = f"help topic {args.topic}" if topic else f"department {args.department}" if department else "everywhere"
    print(f"{args.kind} is {args.state} for {where}.")
    return 0


def cmd_mail_quarantine(args: argparse.Namespace) -> int:
    from desk.services.mail import intake

    db = _db(args)
    agent = accounts.agent_by_username(db, args.agent)
    if args.retry:
        view = intake.retry(db, agent, args.retry)
        if view is None:
            print(f"Message {args.retry} will be fetched again from its mail server by the next fetch.")
        else:
            print(f"Message {view.id}: {view.state}" + (f" ({view.reason})" if view.reason else ""))
        return 0
    for view in intake.quarantined(db, agent, state=InboundState(args.show)):
        print(
            f"  {view.id:>6} {view.received_at:%Y-%m-%d %H:%M} {view.sender:<30} {view.subject[:40]:<40} {view.reason}"
        )
    return 0


def cmd_directory_test(args: argparse.Namespace) -> int:
    """What the directory answers for an account and what Desk makes of it; exits 1 unless the sign-in would work."""
    db = _db(args)
    conf = directory.required()
    password = getpass.getpass(f"{args.username}'s directory password: ")
    check = accounts.check_directory(db, SystemActor(), conf, args.username, password)
    answer, account = check.answer, check.answer.account
    tls = "StartTLS" if conf.start_tls else "LDAPS" if conf.url.startswith("ldaps:") else "no TLS: this machine only"
    how = f"bind as {conf.user_dn}" if conf.user_dn else f"search as {conf.bind_dn or 'anonymous'}, then bind"
    print(f"Directory {conf.url} ({tls}, trusting {conf.ca_file or 'the system CAs'}); {how}.")
    if answer.outcome is Outcome.UNAVAILABLE:
        print(f"Not asked: {answer.problem}.")
        return 1
    if answer.outcome is Outcome.UNKNOWN:
        print(f"No account: {conf.search_filter} under {conf.search_base} finds none (or several) for {args.username}.")
        return 1
    if answer.outcome is Outcome.WRONG_PASSWORD or account is None:
        print(f"The directory refuses this password for {account.dn if account else args.username}.")
        return 1
    print(f"Password accepted for {account.dn}")
    print(f"  {conf.username_attribute}: {account.username or '—'}   {conf.mail_attribute}: {account.mail or '—'}")
    print(f"  {conf.name_attribute}: {account.name or '—'}")
    print(f"  mapped groups it is in: {', '.join(account.groups) or 'none'} (of {len(conf.groups)} mapped)")
    if check.agent is None and not conf.create_agents:
        print(
            f"Desk agent: none has username {account.username or '—'} or address {account.mail or '—'}, "
            "so the sign-in is refused (create_agents = false)."
        )
        return 1
    if check.agent is None:
        print(f"Desk agent: none yet; the first sign-in creates {account.username or '—'} <{account.mail or '—'}>.")
    else:
        print(f"Desk agent: {check.agent}" + ("" if check.active else " (deactivated: the sign-in is refused)"))
    rights = ", ".join(sorted(check.rights)) or "none"
    access = "; ".join(f"{department}={role}" for department, role in sorted(check.access.items())) or "none"
    print(f"After signing in: rights {rights}; access {access}.")
    return 0 if check.agent is None or check.active else 1


def cmd_token_create(args: argparse.Namespace) -> int:
    """The secret alone on standard output (so `$(desk token create …)` captures it), what to do with it on standard
    error: it is shown this once, Desk keeps only its hash."""
    db = _db(args)
    owner = accounts.agent_by_username(db, args.username)
    new = api_tokens.create_token(db, SystemActor(), name=args.name, agent_id=owner.id)
    print(f"API token {new.token.id} “{new.token.name}” made for {new.token.agent}:", file=sys.stderr)
    print(new.secret)
    print(
        "Copy it now: it will not be shown again (Desk keeps only its hash).\n"
        f"Integrations send it with every call to the JSON API at /api/v1: `Authorization: Bearer {new.secret}`\n"
        f"They act with {new.token.agent}'s permissions until `desk token revoke {new.token.id}`.",
        file=sys.stderr,
    )
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    db = _db(args)
    owner = accounts.agent_by_username(db, args.username) if args.username else None
    views = api_tokens.list_tokens(db, SystemActor(), agent_id=owner.id if owner else None)
    if not views:
        who = f"{owner.name} has no API tokens" if owner else "No agent has an API token"
        print(f"{who} yet. Make one with `desk token create USERNAME --name NAME`.")
        return 0
    print(f"  {'id':>4} {'agent':<20} {'name':<24} {'token':<14} {'created (UTC)':<16}  {'last used':<16}  revoked")
    for view in views:
        print(
            f"  {view.id:>4} {view.agent[:20]:<20} {view.name[:24]:<24} {view.hint + '…':<14} "
            f"{_utc(view.created_at):<16}  {_utc(view.last_used_at) or 'never':<16}  {_utc(view.revoked_at) or '—'}"
        )
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    view = api_tokens.revoke_token(_db(args), SystemActor(), args.id)
    print(
        f"API token {view.id} “{view.name}” of {view.agent} is revoked (since {_utc(view.revoked_at)} UTC): "
        "calls with it are refused."
    )
    return 0


def _utc(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else ""


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


def _id(value: str) -> int:
    """An id as typed: a number a database row can have, or argparse's usage error."""
    if not (value.isascii() and value.isdigit() and len(value) <= 10 and 1 <= int(value) <= MAX_ID):
        raise argparse.ArgumentTypeError(f"{value!r} is not an id (a number from 1 to {MAX_ID})")
    return int(value)


def _check_text(root: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Every text argument storable (a terminal may pass bytes that are not UTF-8, or a NUL): usage error if not."""
    for name, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                try:
                    storable(text)
                except ValueError as error:
                    root.error(f"argument {name}: {error}")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="desk", description="Desk help desk")
    root.add_argument("--version", action="version", version=f"desk {__version__}")
    root.add_argument("--url", help="database URL (default: DESK_DATABASE_URL, config file, or local SQLite)")
    root.add_argument(
        "--smoke-test", action="store_true", help="open the agent window on a scratch database, quit, exit 0"
    )
    root.set_defaults(run=cmd_gui)
    sub = root.add_subparsers(dest="command", title="commands (none: open the agent window)")

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    upgrade = db.add_parser("upgrade", help="create or migrate the schema to this version")
    upgrade.add_argument(
        "--force", action="store_true", help="upgrade even while other clients are connected to the database"
    )
    upgrade.set_defaults(run=cmd_db_upgrade)
    db.add_parser("check", help="verify the schema matches this version").set_defaults(run=cmd_db_check)
    grants = db.add_parser("grants", help="the rights of the role `desk serve` and `desk worker` run with, as SQL")
    grants.add_argument("role", help="PostgreSQL role, or MariaDB user@host")
    grants.add_argument("--apply", action="store_true", help="grant them too (run as the schema's owner)")
    grants.set_defaults(run=cmd_db_grants)

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
    for name, active, words in (
        ("deactivate", False, "sign-in refused, sessions and API tokens stop at once"),
        ("activate", True, "allow an agent to sign in again"),
    ):
        switch = agent.add_parser(name, help=f"{name} an agent ({words})")
        switch.add_argument("username")
        switch.set_defaults(run=cmd_agent_active, active=active)
    sessions = agent.add_parser("sessions", help="where an agent is signed in to desk serve; --end signs them out")
    sessions.add_argument("username")
    sessions.add_argument("--end", action="store_true", help="end every session of the agent")
    sessions.set_defaults(run=cmd_agent_sessions)

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

    worker = sub.add_parser("worker", help="fetch and send mail, mark overdue and close resolved tickets")
    worker.add_argument("--once", action="store_true", help="run every job once, then exit")
    worker.set_defaults(run=cmd_worker)

    mailbox = sub.add_parser("mailbox", help="support addresses").add_subparsers(dest="mailbox_command", required=True)
    madd = mailbox.add_parser("add", help="add a mailbox (passwords are asked for)")
    madd.add_argument("address")
    madd.add_argument("--name")
    madd.add_argument("--imap-host")
    madd.add_argument("--imap-port", type=int)
    madd.add_argument("--imap-security", choices=["tls", "starttls", "none"], default="tls")
    madd.add_argument("--imap-user")
    madd.add_argument("--folder", default="INBOX")
    madd.add_argument("--after-fetch", choices=["seen", "move", "delete"], default="seen")
    madd.add_argument("--move-to", help="folder for --after-fetch move")
    madd.add_argument("--smtp-host")
    madd.add_argument("--smtp-port", type=int)
    madd.add_argument("--smtp-security", choices=["tls", "starttls", "none"], default="starttls")
    madd.add_argument("--smtp-user")
    madd.set_defaults(run=cmd_mailbox_add)
    medit = mailbox.add_parser("edit", help="change how a mailbox checks who mail is from, or its passwords")
    medit.add_argument("address")
    medit.add_argument("--passwords", action="store_true", help="enter the IMAP and SMTP passwords again")
    medit.set_defaults(run=cmd_mailbox_edit)
    for command in (madd, medit):
        command.add_argument(
            "--sender-check",
            choices=[check.value for check in SenderCheck],
            default=SenderCheck.REQUIRED.value if command is madd else None,
            help="before mail is posted as an agent's note, or by its ticket tag as the requester's reply: "
            "'required' (the default) needs the receiving server's Authentication-Results (DMARC, or aligned "
            "DKIM/SPF, pass); 'trusted' believes the From header (only behind a relay that verified it); 'off' "
            "never believes it",
        )
        command.add_argument(
            "--auth-server",
            metavar="NAME",
            help="the receiving server's name as its Authentication-Results headers begin (authserv-id); "
            "headers naming any other server are ignored",
        )
    mailbox.add_parser("list", help="list mailboxes").set_defaults(run=cmd_mailbox_list)

    mail = sub.add_parser("mail", help="the mail channel's state").add_subparsers(dest="mail_command", required=True)
    mail.add_parser("status", help="worker jobs, mailboxes, outbox and quarantine").set_defaults(run=cmd_mail_status)
    quarantine = mail.add_parser("quarantine", help="incoming mail kept aside, and retrying it")
    quarantine.add_argument("--retry", type=_id, metavar="ID", help="process this message again")
    quarantine.add_argument(
        "--show",
        choices=[InboundState.QUARANTINED.value, InboundState.IGNORED.value, InboundState.REJECTED.value],
        default=InboundState.QUARANTINED.value,
        help="list the messages ignored as automatic, or rejected from banned senders, instead",
    )
    quarantine.set_defaults(run=cmd_mail_quarantine)
    notify = mail.add_parser("notify", help="switch a mail notification on or off")
    notify.add_argument("kind", choices=list(NOTIFICATIONS))
    notify.add_argument("state", choices=["on", "off"])
    notify.add_argument("--department", help="for this department only")
    notify.add_argument("--topic", help="for this help topic only (over its department)")
    notify.set_defaults(run=cmd_mail_notify)
    for command in (madd, medit, mailbox.choices["list"], mail.choices["status"], quarantine, notify):
        command.add_argument("--agent", default="admin", help="act as this administrator")

    directory_commands = sub.add_parser(
        "directory", help="agents' sign-in with the office directory (LDAP)"
    ).add_subparsers(dest="directory_command", required=True)
    dtest = directory_commands.add_parser(
        "test", help="ask the directory for an account (asks its password) and show the Desk agent and access"
    )
    dtest.add_argument("username", help="as the agent types it when signing in")
    dtest.set_defaults(run=cmd_directory_test)

    token = sub.add_parser("token", help="agents' API tokens for the JSON API").add_subparsers(
        dest="token_command", required=True
    )
    tcreate = token.add_parser("create", help="make a token for an agent and print its secret (shown once)")
    tcreate.add_argument("username", help="the agent the token acts as, with their permissions")
    tcreate.add_argument("--name", required=True, help="what will use it, e.g. 'CRM sync'")
    tcreate.set_defaults(run=cmd_token_create)
    tlist = token.add_parser("list", help="list an agent's tokens (every agent's without a username)")
    tlist.add_argument("username", nargs="?")
    tlist.set_defaults(run=cmd_token_list)
    trevoke = token.add_parser("revoke", help="revoke a token: calls with it are refused from now on")
    trevoke.add_argument("id", type=_id, help="the token's id, from `desk token list`")
    trevoke.set_defaults(run=cmd_token_revoke)

    serve = sub.add_parser("serve", help="serve the Support Center pages and the JSON API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--public-url", help="the https:// address people use (mailed links); default: host and port")
    serve.add_argument("--certificate", help="PEM certificate (chain) to serve HTTPS with")
    serve.add_argument("--key", help="PEM private key of the certificate")
    serve.add_argument("--proxy", metavar="ADDRESS", help="trust X-Forwarded-* headers from this reverse proxy")
    serve.add_argument("--with-worker", action="store_true", help="also run the worker's jobs in this process")
    serve.set_defaults(run=cmd_serve)

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
    root = parser()
    args = root.parse_args(argv)
    _check_text(root, args)
    try:
        return int(args.run(args))
    except DeskError as error:
        print(f"desk: {error}", file=sys.stderr)
        return 1
