"""What the `desk` commands other than the window do: database administration, accounts, mailboxes, tokens,
any administration service by name (`desk admin`), demo data, the server and the worker, and a look at queues and
tickets.

desk.cli parses the command line and imports this module only when one of these commands runs: SQLAlchemy,
Alembic and the services load for them, never for `desk --version`, `--help` or the agent window's start.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime

from desk import __version__
from desk.config import database_url, secret_key_file
from desk.domain.enums import InboundState, Queue, SenderCheck, SortKey
from desk.domain.errors import NotFound
from desk.domain.permissions import Right, SystemActor
from desk.domain.queues import Criteria
from desk.domain.views import EntryView, QueuePage, TicketView
from desk.services import (
    accounts,
    agent_sessions,
    api_tokens,
    directory,
    mailboxes,
    notifications,
    queues,
    reference,
    settings,
    staff,
    tickets,
)
from desk.services.directory import Outcome
from desk.services.mail import oauth
from desk.services.setup import upgrade_database
from desk.storage.db import (
    Database,
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
    upgrade_database(db)
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
    ended = staff.set_agent_active(db, SystemActor(), agent_id, args.active)
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
        upgrade_database(db)
    check_schema(db.engine)
    summary = build_demo(db, tickets=args.tickets, progress=print)
    print(summary)
    if args.open:
        print(
            "Opening the agent window: sign in as admin / demo-admin or john / demo-john. "
            "The demo's mail is in File › Demo mailbox."
        )
        db.dispose()
        from desk.ui import app  # Qt only now: the other commands run on servers without it

        return app.main(db.engine.url.render_as_string(hide_password=False), username="admin")
    return 0


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


def cmd_admin(args: argparse.Namespace) -> int:
    """An administration service by name, with its keyword arguments as a JSON object, as the JSON API's
    /api/v1/admin/NAME takes them (the same models check them), run as `--agent`; its value printed as JSON."""
    from desk.services import calls  # every listed service and its typing: only for this command

    if args.service == "list":
        width = max(map(len, calls.ADMINISTRATION))
        for name in calls.ADMINISTRATION:
            print(f"{name:<{width}}  {calls.summary(calls.SERVICES[name])}")
        return 0
    if args.service not in calls.ADMINISTRATION:
        raise NotFound(f"There is no administration service {args.service!r}: `desk admin list` lists them.")
    service = calls.SERVICES[args.service]
    signature = calls.signature(service)
    document = sys.stdin.buffer.read() if args.arguments == "-" else args.arguments.encode()
    arguments = signature.decode_arguments(calls.Body(document), strict=True)
    db = _db(args)
    value = service(db, accounts.agent_by_username(db, args.agent), **arguments)
    print(json.dumps(json.loads(signature.result_json(value))["value"], indent=2, ensure_ascii=False))
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


def cmd_mailbox_authorize(args: argparse.Namespace) -> int:
    db = _db(args)
    agent = accounts.agent_by_username(db, args.agent)
    mailbox_id = mailboxes.get_mailbox(db, agent, args.address).id
    if args.provider or args.client_id or args.issuer or args.client_secret:
        form = mailboxes.get_mailbox_details(db, agent, mailbox_id).form
        changed = replace(
            form,
            oauth_provider=args.provider or form.oauth_provider,
            oauth_client_id=args.client_id or form.oauth_client_id,
            oauth_issuer=args.issuer or form.oauth_issuer,
        )
        secret = getpass.getpass("Client secret: ") if args.client_secret else None
        mailboxes.save_mailbox(db, agent, mailbox_id, changed, oauth_client_secret=secret)
    device = oauth.start_device_consent(db, agent, mailbox_id)
    print(f"Open {device.verification_uri} on any device, enter the code {device.user_code} and sign in as the "
          f"mailbox's account; Desk waits up to {device.expires_in // 60} minutes.", flush=True)  # fmt: skip
    deadline = time.monotonic() + device.expires_in
    while not oauth.finish_device_consent(db, agent, mailbox_id, device.device_code):
        if time.monotonic() > deadline:
            print("The code expired before anyone signed in: run the command again.", file=sys.stderr)
            return 1
        time.sleep(device.interval)
    print(f"Mailbox {args.address} is signed in: the worker fetches and sends with OAuth2 from now on.")
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
    notifications.set_notifications(
        db, agent, {args.kind: args.state == "on"}, department_id=department, topic_id=topic
    )
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
