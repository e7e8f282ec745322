"""The `desk` command line: the agent window (no command), and the parser of every other command.

Only the window's code and the command that runs are imported: the other commands live in desk.commands, whose
SQLAlchemy, Alembic and services `desk --version`, `--help` and the window's start do without.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from desk import __version__
from desk.domain.canned import NOTIFICATIONS
from desk.domain.enums import InboundState, Queue, SenderCheck, SortKey
from desk.domain.errors import DeskError, Invalid
from desk.domain.inputs import MAX_ID, storable
from desk.domain.oauth import PROVIDERS
from desk.domain.permissions import Right


def cmd_gui(args: argparse.Namespace, url: str | None = None, username: str | None = None) -> int:
    """The agent window; without a configured database it asks for one (Qt is imported only here: the other
    commands run on servers without it)."""
    if getattr(args, "smoke_test", False):
        from desk.ui import smoke

        return smoke.main(args.url)
    from desk.config import configured_url
    from desk.ui import app

    return app.main(url or configured_url(args.url), username=username)


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
    root.set_defaults(run="gui")
    sub = root.add_subparsers(dest="command", title="commands (none: open the agent window)")

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    upgrade = db.add_parser("upgrade", help="create or migrate the schema to this version")
    upgrade.add_argument(
        "--force", action="store_true", help="upgrade even while other clients are connected to the database"
    )
    upgrade.set_defaults(run="db_upgrade")
    db.add_parser("check", help="verify the schema matches this version").set_defaults(run="db_check")
    grants = db.add_parser("grants", help="the rights of the role `desk serve` and `desk worker` run with, as SQL")
    grants.add_argument("role", help="PostgreSQL role, or MariaDB user@host")
    grants.add_argument("--apply", action="store_true", help="grant them too (run as the schema's owner)")
    grants.set_defaults(run="db_grants")

    agent = sub.add_parser("agent", help="agents").add_subparsers(dest="agent_command", required=True)
    add = agent.add_parser("add", help="add an agent")
    add.add_argument("username")
    add.add_argument("--name", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--password", help="prompted for when omitted")
    add.add_argument("--access", action="append", default=[], metavar="DEPARTMENT=ROLE")
    add.add_argument("--right", action="append", default=[], choices=[r.value for r in Right])
    add.add_argument("--admin", action="store_true")
    add.set_defaults(run="agent_add")
    for name, active, words in (
        ("deactivate", False, "sign-in refused, sessions and API tokens stop at once"),
        ("activate", True, "allow an agent to sign in again"),
    ):
        switch = agent.add_parser(name, help=f"{name} an agent ({words})")
        switch.add_argument("username")
        switch.set_defaults(run="agent_active", active=active)
    sessions = agent.add_parser("sessions", help="where an agent is signed in to desk serve; --end signs them out")
    sessions.add_argument("username")
    sessions.add_argument("--end", action="store_true", help="end every session of the agent")
    sessions.set_defaults(run="agent_sessions")

    user = sub.add_parser("user", help="end users").add_subparsers(dest="user_command", required=True)
    uadd = user.add_parser("add", help="add an end user")
    uadd.add_argument("email")
    uadd.add_argument("--name", required=True)
    uadd.add_argument("--phone")
    uadd.add_argument("--password")
    uadd.add_argument("--organization")
    uadd.set_defaults(run="user_add")

    demo = sub.add_parser("demo", help="fill the database with demo data")
    demo.add_argument("--tickets", type=int, default=300)
    demo.add_argument("--open", action="store_true", help="then open the agent window on it")
    demo.set_defaults(run="demo")

    worker = sub.add_parser("worker", help="fetch and send mail, mark overdue and close resolved tickets")
    worker.add_argument("--once", action="store_true", help="run every job once, then exit")
    worker.set_defaults(run="worker")

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
    madd.set_defaults(run="mailbox_add")
    medit = mailbox.add_parser("edit", help="change how a mailbox checks who mail is from, or its passwords")
    medit.add_argument("address")
    medit.add_argument("--passwords", action="store_true", help="enter the IMAP and SMTP passwords again")
    medit.set_defaults(run="mailbox_edit")
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
    mauth = mailbox.add_parser(
        "authorize", help="sign a mailbox in with OAuth2 (Microsoft 365, Google…) by a device code, without a browser"
    )
    mauth.add_argument("address")
    mauth.add_argument("--provider", choices=list(PROVIDERS), help="switch the mailbox to this provider first")
    mauth.add_argument("--client-id", help="the application (client) id registered with the provider")
    mauth.add_argument("--issuer", help="Microsoft: the tenant (organizations, your domain or its id); other: address")
    mauth.add_argument("--client-secret", action="store_true", help="ask for the client secret the provider gave")
    mauth.set_defaults(run="mailbox_authorize")
    mailbox.add_parser("list", help="list mailboxes").set_defaults(run="mailbox_list")

    mail = sub.add_parser("mail", help="the mail channel's state").add_subparsers(dest="mail_command", required=True)
    mail.add_parser("status", help="worker jobs, mailboxes, outbox and quarantine").set_defaults(run="mail_status")
    quarantine = mail.add_parser("quarantine", help="incoming mail kept aside, and retrying it")
    quarantine.add_argument("--retry", type=_id, metavar="ID", help="process this message again")
    quarantine.add_argument(
        "--show",
        choices=[InboundState.QUARANTINED.value, InboundState.IGNORED.value, InboundState.REJECTED.value],
        default=InboundState.QUARANTINED.value,
        help="list the messages ignored as automatic, or rejected from banned senders, instead",
    )
    quarantine.set_defaults(run="mail_quarantine")
    notify = mail.add_parser("notify", help="switch a mail notification on or off")
    notify.add_argument("kind", choices=list(NOTIFICATIONS))
    notify.add_argument("state", choices=["on", "off"])
    notify.add_argument("--department", help="for this department only")
    notify.add_argument("--topic", help="for this help topic only (over its department)")
    notify.set_defaults(run="mail_notify")
    for command in (madd, medit, mauth, mailbox.choices["list"], mail.choices["status"], quarantine, notify):
        command.add_argument("--agent", default="admin", help="act as this administrator")

    directory_commands = sub.add_parser(
        "directory", help="agents' sign-in with the office directory (LDAP)"
    ).add_subparsers(dest="directory_command", required=True)
    dtest = directory_commands.add_parser(
        "test", help="ask the directory for an account (asks its password) and show the Desk agent and access"
    )
    dtest.add_argument("username", help="as the agent types it when signing in")
    dtest.set_defaults(run="directory_test")

    token = sub.add_parser("token", help="agents' API tokens for the JSON API").add_subparsers(
        dest="token_command", required=True
    )
    tcreate = token.add_parser("create", help="make a token for an agent and print its secret (shown once)")
    tcreate.add_argument("username", help="the agent the token acts as, with their permissions")
    tcreate.add_argument("--name", required=True, help="what will use it, e.g. 'CRM sync'")
    tcreate.set_defaults(run="token_create")
    tlist = token.add_parser("list", help="list an agent's tokens (every agent's without a username)")
    tlist.add_argument("username", nargs="?")
    tlist.set_defaults(run="token_list")
    trevoke = token.add_parser("revoke", help="revoke a token: calls with it are refused from now on")
    trevoke.add_argument("id", type=_id, help="the token's id, from `desk token list`")
    trevoke.set_defaults(run="token_revoke")

    admin = sub.add_parser(
        "admin",
        help="call an administration service, for scripts: `desk admin list` lists them",
        description="Call an administration service (as the JSON API's POST /api/v1/admin/SERVICE) on the "
        "database, acting as an agent, and print its value as JSON.",
    )
    admin.add_argument("service", help="e.g. staff.save_department; `list` lists them with what each does")
    admin.add_argument(
        "arguments", nargs="?", default="{}", help="its keyword arguments as a JSON object; `-` reads them from stdin"
    )
    admin.add_argument(
        "--agent", default="admin", help="act as this agent: the service checks their rights, the audit names them"
    )
    admin.set_defaults(run="admin")

    serve = sub.add_parser("serve", help="serve the Support Center pages and the JSON API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--public-url", help="the https:// address people use (mailed links); default: host and port")
    serve.add_argument("--certificate", help="PEM certificate (chain) to serve HTTPS with")
    serve.add_argument("--key", help="PEM private key of the certificate")
    serve.add_argument("--proxy", metavar="ADDRESS", help="trust X-Forwarded-* headers from this reverse proxy")
    serve.add_argument("--with-worker", action="store_true", help="also run the worker's jobs in this process")
    serve.set_defaults(run="serve")

    for name in ("queue", "search", "show"):
        command = sub.add_parser(name, help=f"{name} tickets as an agent")
        command.add_argument("--agent", default="admin", help="act as this agent")
        command.set_defaults(run=name)
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
        return int(runner(args.run)(args))
    except DeskError as error:
        print(f"desk: {error}", file=sys.stderr)
        for name, problem in error.fields.items() if isinstance(error, Invalid) else ():
            print(f"  {name}: {problem}", file=sys.stderr)
        return 1


def runner(name: str) -> Callable[[argparse.Namespace], int]:
    """The function that runs the command the parser named (its `run` default)."""
    if name == "gui":
        return cmd_gui
    from desk import commands  # the database's commands, with SQLAlchemy, Alembic and the services: only now

    run: Callable[[argparse.Namespace], int] = getattr(commands, f"cmd_{name}")
    return run
