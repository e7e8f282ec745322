"""The Administration window's big lists: the end-user directory over a million end users, and the audit log over
a few hundred thousand changes and sign-ins. Each service call is timed beside hand-written SQL doing the same
work (same rows, filter, order, limit, read-back), in the same run, warm; the answers are checked equal.

    uv run python -m tests.perf.directory_bench --engines sqlite,postgresql [--users 1000000] [--audit 200000]
        [--database desk_directory_bench] [--keep FOLDER] [--reuse]

It builds its own database per engine (`--database`, or a SQLite file in a temporary folder) and only reads it
while measuring. Building a million end users takes minutes: `--keep FOLDER` keeps the SQLite file there, and
`--reuse` measures the databases an earlier run built (after `desk db upgrade`, say) instead of building again.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, text

from desk.domain.permissions import AgentActor, Right, SystemActor
from desk.domain.queues import text_sort_key
from desk.services import accounts, audit, people
from desk.services.setup import install_defaults
from desk.storage.db import Database
from desk.storage.models import AdminAudit, Agent, LoginAudit, Organization, User
from tests.conftest import build_schema

RUNS = 15
FIRST = ("Aisha", "Amelia", "Anika", "Arjun", "Charlotte", "Chloé", "Dmitri", "Elijah", "Emma", "Evelyn", "Fatima",
         "Finn", "Grace", "Hannah", "Harper", "Henry", "Hiroshi", "Ingrid", "James", "Kwame", "Leila", "Liam", "Lucas",
         "Marco", "Mateo", "Mia", "Noah", "Nora", "Oliver", "Olivia", "Omar", "Pedro", "Rafael", "Sofia", "Sophia",
         "Tariq", "Tomasz", "Yuki", "Zoe")  # fmt: skip
LAST = ("Martin", "Lopez", "Clark", "Young", "Sanchez", "Taylor", "Martinez", "Lee", "Dubois", "Garcia", "Thomas",
        "Jensen", "Schmidt", "Williams", "Davis", "Kowalski", "Perez", "Anderson", "Walker", "Haddad", "Jackson",
        "Robinson", "Hernandez", "Rossi", "Lewis", "Silva", "Nakamura", "Allen", "Novak", "Quinn")  # fmt: skip


def url_for(engine: str, folder: str, database: str) -> str:
    if engine == "sqlite":
        return f"sqlite:///{folder}/directory.db"
    base = os.environ.get("DESK_TEST_POSTGRES_URL" if engine == "postgresql" else "DESK_TEST_MARIADB_URL")
    base = base or (
        "postgresql://postgres@127.0.0.1:5432/" if engine == "postgresql" else "mysql://root@127.0.0.1:3306/"
    )
    return f"{base.rsplit('/', 1)[0]}/{database}"


def create_database(url: str) -> None:
    if url.startswith("sqlite"):
        return
    base, database = url.rsplit("/", 1)
    server = Database(base + ("/postgres" if url.startswith("postgresql") else "/mysql"))
    with server.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {database}"))
        suffix = "" if url.startswith("postgresql") else " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        connection.execute(text(f"CREATE DATABASE {database}{suffix}"))
    server.dispose()


def build(db: Database, url: str, users: int, changes: int) -> None:
    build_schema(db, url)
    with db.transaction() as session:
        install_defaults(session)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with db.engine.begin() as connection:
        connection.execute(insert(Organization), [{"name": f"Org {n}", "shares_tickets": False} for n in range(200)])
        for chunk in range(0, users, 50_000):
            rows = [
                {"name": f"{FIRST[n % len(FIRST)]} {LAST[(n // len(FIRST)) % len(LAST)]} {n}",
                 "email": f"user{n}@{('example', 'mail', 'post')[n % 3]}.example", "created_at": start,
                 "organization_id": (n % 200) + 1 if n % 4 == 0 else None, "banned": False, "failed_logins": 0}
                for n in range(chunk, min(chunk + 50_000, users))
            ]  # fmt: skip
            connection.execute(insert(User), rows)
        for chunk in range(0, changes, 50_000):
            span = range(chunk, min(chunk + 50_000, changes))
            connection.execute(insert(AdminAudit), [
                {"at": start + timedelta(minutes=n), "actor": "Ada Lindqvist", "action": "changed", "kind": "agent",
                 "target_id": n, "target": f"Agent {n}", "changes": {"name": [f"Agent {n}", f"Agent {n}b"]}}
                for n in span
            ])  # fmt: skip
            connection.execute(insert(LoginAudit), [
                {"at": start + timedelta(minutes=n), "principal_kind": "user", "principal": f"user{n}@mail.example",
                 "success": n % 7 != 0, "reason": None if n % 7 else "password", "client_address": f"10.0.{n % 250}.1"}
                for n in span
            ])  # fmt: skip
    with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            connection.execute(text("ANALYZE"))
        elif db.dialect == "sqlite":
            connection.execute(text("ANALYZE"))
        else:
            for table in ("users", "admin_audit", "login_audit"):
                connection.execute(text(f"ANALYZE TABLE {table}"))


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    """The median of RUNS calls in milliseconds (after one to warm up), and the last answer."""
    answer = work()
    samples = []
    for _ in range(RUNS):
        begin = time.perf_counter()
        answer = work()
        samples.append((time.perf_counter() - begin) * 1000)
    return statistics.median(samples), answer


def raw_users(db: Database, needle: str, after: tuple[str, int] | None = None) -> list[tuple[Any, ...]]:
    """The directory's page in plain SQL: the same columns, filter, order and limit. (The needles here are plain
    lower-case ASCII: their own keys.)"""
    keyset = "AND name_key >= :key AND (name_key > :key OR id > :id)" if after else ""
    part = (
        "SELECT id, name, email, organization_id, banned, name_key FROM users WHERE {} "
        f"{keyset} ORDER BY name_key, id LIMIT {people.PAGE + 1}"
    )
    found = part.format("1 = 1")
    if needle:
        by_name, by_address = (
            part.format(f"{column} >= :low AND {column} < :high") for column in ("name_key", "email")
        )
        found = f"SELECT * FROM ({by_name}) AS by_name UNION SELECT * FROM ({by_address}) AS by_address"
    statement = text(
        f"SELECT u.id, u.name, u.email, o.name, u.banned FROM ({found}) AS u "
        f"LEFT JOIN organizations o ON o.id = u.organization_id ORDER BY u.name_key, u.id LIMIT {people.PAGE + 1}"
    )
    params: dict[str, Any] = {"low": needle, "high": needle[:-1] + chr(ord(needle[-1]) + 1)} if needle else {}
    if after:
        params |= {"key": text_sort_key(after[0]), "id": after[1]}
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(statement, params)]


def raw_audit(db: Database, model: Any, needle: str) -> list[tuple[Any, ...]]:
    statement = select(model.id).order_by(model.id.desc()).limit(audit.PAGE)
    if needle:
        pattern = f"%{needle}%"
        if model is AdminAudit:
            statement = statement.where(or_(AdminAudit.actor.ilike(pattern), AdminAudit.target.ilike(pattern)))
        else:
            statement = statement.where(
                or_(LoginAudit.principal.ilike(pattern), LoginAudit.client_address.like(pattern))
            )
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(statement)]


def measure(db: Database, admin: AgentActor) -> None:
    """Each case as the service answers it and as plain SQL does, with whether both gave the same rows."""
    last = people.list_users(db, admin).rows[-1]
    after = (last.name, last.id)
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        ("directory, first page", lambda: people.list_users(db, admin), lambda: raw_users(db, "")),
        ("directory, name prefix 'sofia mar'", lambda: people.list_users(db, admin, "sofia mar"),
         lambda: raw_users(db, "sofia mar")),
        ("directory, address 'user4242'", lambda: people.list_users(db, admin, "user4242"),
         lambda: raw_users(db, "user4242")),
        ("directory, no match", lambda: people.list_users(db, admin, "zzqx"), lambda: raw_users(db, "zzqx")),
        ("directory, second page", lambda: people.list_users(db, admin, after=after),
         lambda: raw_users(db, "", after)),
        ("audit log, first page", lambda: audit.audit_log(db, admin), lambda: raw_audit(db, AdminAudit, "")),
        ("audit log, text 'Agent 1999'", lambda: audit.audit_log(db, admin, text="Agent 1999"),
         lambda: raw_audit(db, AdminAudit, "Agent 1999")),
        ("sign-ins, first page", lambda: audit.sign_ins(db, admin), lambda: raw_audit(db, LoginAudit, "")),
        ("sign-ins, text 'user777@'", lambda: audit.sign_ins(db, admin, text="user777@"),
         lambda: raw_audit(db, LoginAudit, "user777@")),
    ]  # fmt: skip
    for name, service, raw in cases:
        service_ms, answer = timed(service)
        raw_ms, rows = timed(raw)
        ids = [row.id for row in (answer.rows if hasattr(answer, "rows") else answer)]
        expected = [row[0] for row in rows][: len(ids)]  # the raw page has one more row, telling of more
        same = "same rows" if ids == expected else "ROWS DIFFER"
        goal = "meets" if service_ms <= 150 else "MISSES"
        print(f"  {name:<40} service {service_ms:7.1f} ms  raw SQL {raw_ms:7.1f} ms  ({same}; 150 ms goal: {goal})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="sqlite")
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--audit", type=int, default=200_000)
    parser.add_argument("--database", default="desk_directory_bench", help="on PostgreSQL and MariaDB")
    parser.add_argument("--keep", metavar="FOLDER", help="where the SQLite database stays (else a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="measure the databases an earlier run built")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        for engine in args.engines.split(","):
            url = url_for(engine, args.keep or temporary, args.database)
            if args.reuse:
                db = Database(url)
                with db.transaction() as session:
                    admin = accounts.agent_actor(
                        session, session.scalars(select(Agent).filter_by(username="admin")).one()
                    )
                print(f"{engine}: the database built before")
            else:
                create_database(url)
                db = Database(url)
                begin = time.perf_counter()
                build(db, url, args.users, args.audit)
                print(f"{engine}: {args.users:,} end users, {args.audit:,} changes and sign-ins, built in "
                      f"{time.perf_counter() - begin:.0f} s")  # fmt: skip
                admin = accounts.add_agent(db, SystemActor(), username="admin", name="Admin", email="admin@x.example",
                                           password="admin-password", rights=(Right.ADMIN,))  # fmt: skip
            measure(db, admin)
            db.dispose()


if __name__ == "__main__":
    main()
