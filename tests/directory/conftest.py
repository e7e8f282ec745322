"""The directory tests' world: one private slapd per test session holding a small office, and Desk agents that
match some of its accounts (by username or by address), on top of the service tests' `world`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from desk.domain.permissions import AgentActor
from desk.services import accounts
from desk.storage.db import Database
from desk.storage.models import Agent
from tests.directory.slapd import INSTALL_HINT, LdapServer, slapd_binary, start_slapd
from tests.services.conftest import SYSTEM, World, world

__all__ = ["world"]

SUFFIX = "dc=example,dc=org"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
SERVICE_DN = f"cn=desk-service,{SUFFIX}"
SERVICE_PASSWORD = "service-secret"
ODD_UID = "a*(b)\\c"  # filter and DN metacharacters in a real account's name
# uid: (name, mail, password). jane and ivan are Desk agents by username, jdoe (john) and ODD_UID by address,
# carol is not a Desk agent; janet makes "jan*" match two accounts.
PEOPLE_ENTRIES = {
    "jane": ("Jane Doe", "jane@example.org", "jane-directory-secret"),
    "janet": ("Janet Roe", "janet@example.org", "janet-directory-secret"),
    "jdoe": ("John Doe", "John@Desk.example", "jdoe-directory-secret"),
    "carol": ("Carol Smith", "carol@example.org", "carol-directory-secret"),
    "ivan": ("Ivan Inactive", "ivan@example.org", "ivan-directory-secret"),
    ODD_UID: ("Odd Name", "odd@desk.example", "odd-directory-secret"),
}
GROUP_MEMBERS = {
    "desk-admins": ["jane"],
    "support-leads": ["jane", "jdoe"],
    "billing-viewers": ["jdoe"],
}


def group_dn(name: str) -> str:
    return f"cn={name},{GROUPS}"


def person_dn(uid: str) -> str:
    """The DN of a person's entry (RFC 4514: a backslash in a value is written \\5c)."""
    return "uid=" + uid.replace("\\", "\\5c") + "," + PEOPLE


def _ldif() -> str:
    blocks = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: desk-service\nuserPassword: {SERVICE_PASSWORD}",
    ]
    for uid, (name, mail, password) in PEOPLE_ENTRIES.items():
        blocks.append(
            f"dn: {person_dn(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {name}\nsn: {name.split()[-1]}\n"
            f"mail: {mail}\nuserPassword: {password}"
        )
    for group, members in GROUP_MEMBERS.items():
        lines = "".join(f"\nmember: {person_dn(uid)}" for uid in members)
        blocks.append(f"dn: {group_dn(group)}\nobjectClass: groupOfNames\ncn: {group}{lines}")
    return "\n\n".join(blocks) + "\n"


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    """One slapd for the session: sign-ins only read it. Tests that stop or pause it restart or resume it."""
    if slapd_binary() is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    server = start_slapd(tmp_path_factory.mktemp("slapd"), SUFFIX, _ldif())
    try:
        yield server
    finally:
        server.stop()


def toml(tables: dict[str, dict[str, Any]]) -> str:
    """TOML for tables of strings, booleans, numbers and lists of strings (a JSON string is a TOML string)."""
    lines = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{json.dumps(key)} = {json.dumps(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


@dataclass
class Office:
    """The Desk side: the service tests' world plus agents matching directory accounts, and the config file."""

    world: World
    server: LdapServer
    config: Path
    jane: AgentActor  # jane by username
    john: AgentActor  # jdoe by address
    odd: AgentActor  # ODD_UID by address
    ivan: AgentActor  # deactivated in Desk

    @property
    def db(self) -> Database:
        return self.world.db

    def settings(self, **changes: Any) -> dict[str, Any]:
        """The [directory] table the tests start from (search with the service account over LDAPS), changed;
        a change to None drops that setting."""
        table: dict[str, Any] = {
            "url": self.server.ldaps_url,
            "ca_file": str(self.server.cafile),
            "bind_dn": SERVICE_DN,
            "bind_password": SERVICE_PASSWORD,
            "search_base": PEOPLE,
            "search_filter": "(&(objectClass=inetOrgPerson)(uid={username}))",
            "timeout": 2,
        }
        table.update(changes)
        return {key: value for key, value in table.items() if value is not None}

    def configure(self, groups: dict[str, Any] | None = None, **changes: Any) -> None:
        """Write the config file with these [directory] settings (and [directory.groups] when given)."""
        tables = {"directory": self.settings(**changes)}
        if groups is not None:
            tables["directory.groups"] = groups
        self.config.write_text(toml(tables))


@pytest.fixture
def office(world: World, slapd: LdapServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Office:
    config = tmp_path / "desk.toml"
    monkeypatch.setenv("DESK_CONFIG", str(config))

    def agent(username: str, email: str) -> AgentActor:
        return accounts.add_agent(
            world.db,
            SYSTEM,
            username=username,
            name=username.title(),
            email=email,
            password=f"{username}-desk-password",
        )

    office = Office(
        world=world,
        server=slapd,
        config=config,
        jane=agent("jane", "jane@desk.example"),
        john=agent("john", "john@desk.example"),
        odd=agent("odd", "odd@desk.example"),
        ivan=agent("ivan", "ivan@desk.example"),
    )
    with world.db.transaction() as session:
        session.get_one(Agent, office.ivan.id).active = False
    office.configure()
    return office
