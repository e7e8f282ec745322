"""The end-user directory, organizations and canned responses: what is found, saved, merged, refused, audited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.inputs import is_one_line
from desk.domain.people import OrganizationForm, UserForm
from desk.domain.permissions import Right
from desk.domain.queues import text_sort_key
from desk.domain.staff import AuditAction, AuditKind
from desk.domain.ticket_setup import CannedForm
from desk.services import accounts, audit, canned, lifecycle, people, portal, queues, tickets
from desk.storage.models import Collaborator, User
from tests.services.conftest import SYSTEM, World, count


def test_the_directory_pages_by_name_and_finds_names_and_addresses(world: World) -> None:
    for n in range(7):
        accounts.add_user(world.db, SYSTEM, email=f"user{n}@zeta.example", name=f"Zed {n:02}")
    first = people.list_users(world.db, world.admin, "zed", limit=3)
    assert [r.name for r in first.rows] == ["Zed 00", "Zed 01", "Zed 02"] and first.more
    last = first.rows[-1]
    second = people.list_users(world.db, world.admin, "ZED", after=(last.name, last.id), limit=5)
    assert [r.name for r in second.rows] == ["Zed 03", "Zed 04", "Zed 05", "Zed 06"] and not second.more
    assert [r.email for r in people.list_users(world.db, world.admin, "alice@").rows] == ["alice@example.com"]
    assert people.list_users(world.db, world.admin, "100%_").rows == ()  # wildcards are text
    with pytest.raises(Invalid):
        people.list_users(world.db, world.admin, limit=0)


# Letters that fold (case, accents, ß, İ, ligatures, full-width, final sigma), other scripts, LIKE's wildcards and
# escape, and spaces: names and addresses made of them share prefixes often enough for searches to find some.
LETTERS = "aAbBeEéÉèß İıﬁＡσΣςΩДдЖж%_\\0٣"
letters = st.text(st.sampled_from(LETTERS) | st.characters(exclude_categories=["Cs"]), min_size=1, max_size=8)
few_letters = st.text(st.sampled_from("aAéД%_\\"), min_size=1, max_size=4) | letters  # more shared prefixes
long_names = st.builds(lambda part, times: part * times, few_letters, st.integers(10, 40))  # keys cut at 80


def _directory(world: World, text: str, limit: int) -> list[int]:
    """Every page of the directory for the text, each asked for after the last one's last row."""
    ids: list[int] = []
    after = None
    while True:
        page = people.list_users(world.db, world.admin, text, after=after, limit=limit)
        ids += [row.id for row in page.rows]
        if not page.more:
            return ids
        after = (page.rows[-1].name, page.rows[-1].id)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    people_=st.lists(st.tuples(few_letters | long_names, few_letters), max_size=10),
    data=st.data(),
    limit=st.integers(1, 4),
    probe=st.integers(1, 12),
)
def test_the_directory_finds_exactly_the_names_and_addresses_that_begin_with_the_text(
    world: World, monkeypatch: pytest.MonkeyPatch, people_: list[tuple[str, str]], data: st.DataObject, limit: int,
    probe: int,
) -> None:  # fmt: skip
    """Names match whatever their case or accents (as the queues sort them: text_sort_key); addresses match lower-
    cased, character for character; `%`, `_` and `\\` are themselves. The pages come in that key's order, then by
    id, the same on every engine, whether a page of addresses is found among the next users in name order (PROBE of
    them, made small here) or in the address index."""
    monkeypatch.setattr(people, "PROBE", probe)
    added = []
    for name, local in people_:
        try:
            added.append(accounts.add_user(world.db, SYSTEM, email=f"{local}@x.example", name=name).id)
        except Invalid:  # a name or address no end user can have (control characters, an address taken)
            pass
    try:
        with world.db.transaction(write=False) as session:
            everyone = session.execute(select(User.id, User.name, User.email)).all()
        someone = data.draw(st.sampled_from(everyone))
        typed = data.draw(
            st.sampled_from(("", someone.name, someone.name.swapcase(), someone.email.upper())).flatmap(
                lambda whole: st.integers(0, len(whole)).map(lambda cut: whole[:cut])
            )
            | letters
        )
        if not is_one_line(typed):
            return
        text = " ".join(typed.split())
        expected = sorted(
            (text_sort_key(name), user_id)
            for user_id, name, email in everyone
            if text_sort_key(name).startswith(text_sort_key(text)) or email.startswith(text.lower())
        )
        assert _directory(world, typed, limit) == [user_id for _, user_id in expected]
    finally:
        with world.db.transaction() as session:
            session.execute(delete(User).where(User.id.in_(added)))


def test_end_users_loaded_in_bulk_and_renamed_are_found_by_their_new_names(world: World) -> None:
    """A bulk INSERT (the demo's, the benchmarks') leaves the name key out and gets it; a rename keeps it in step."""
    with world.db.engine.begin() as connection:
        rows = [{"name": name, "email": f"bulk{n}@example.com", "created_at": datetime.now(UTC), "banned": False,
                 "failed_logins": 0} for n, name in enumerate(("ÉMILE Zola", "Zoë Émile"))]  # fmt: skip
        connection.execute(insert(User), rows)
    assert [r.name for r in people.list_users(world.db, world.admin, "emile").rows] == ["ÉMILE Zola"]
    [zoe] = people.list_users(world.db, world.admin, "zoe").rows
    people.save_user(world.db, world.admin, zoe.id, UserForm("Émilie Zoë", zoe.email))
    assert [r.name for r in people.list_users(world.db, world.admin, "EMILI").rows] == ["Émilie Zoë"]
    assert people.list_users(world.db, world.admin, "zoe").rows == ()


def test_an_agent_who_manages_end_users_edits_them_and_tickets_follow(world: World) -> None:
    manager = accounts.add_agent(world.db, SYSTEM, username="clerk", name="Clerk", email="clerk@desk.example",
                                 password="clerk-password", rights=(Right.USER_MANAGE,))  # fmt: skip
    ticket = world.open(subject="Printer jam")
    saved = people.save_user(
        world.db, manager, world.alice.id, UserForm("Alice Smith", "Alice.Smith@Example.com", "555")
    )
    assert (saved.form.name, saved.form.email, saved.tickets) == ("Alice Smith", "alice.smith@example.com", 1)
    assert [r.id for r in queues.search_tickets(world.db, world.admin, "alice.smith@example.com").rows] == [ticket.id]
    assert tickets.get_ticket(world.db, world.admin, ticket.id).requester.name == "Alice Smith"
    with pytest.raises(Invalid) as refused:
        people.save_user(world.db, manager, world.alice.id, UserForm("Alice", "bob@example.com"))
    assert refused.value.fields["email"].startswith("Another end user has the address bob@example.com")
    with pytest.raises(PermissionDenied):
        people.save_user(world.db, world.manager, world.alice.id, UserForm("Mallory", "alice@example.com"))
    [entry] = audit.audit_log(world.db, world.admin, kind=AuditKind.USER)
    assert entry.actor == "Clerk" and entry.changes["email"] == ("alice@example.com", "alice.smith@example.com")


def test_a_banned_user_is_signed_out_and_opens_no_tickets(world: World) -> None:
    assert portal.sign_in(world.db, "bob@example.com", "bob-password") is not None
    assert people.set_banned(world.db, world.admin, world.bob.id, True).banned
    with pytest.raises(PermissionDenied, match="banned"):
        world.open(requester_email="bob@example.com")
    refused = portal.sign_in(world.db, "bob@example.com", "bob-password")
    assert isinstance(refused, str)
    assert not people.set_banned(world.db, world.admin, world.bob.id, False).banned
    actions = [e.action for e in audit.audit_log(world.db, world.admin, kind=AuditKind.USER)]
    assert actions == [AuditAction.UNBANNED, AuditAction.BANNED]


def test_merging_two_accounts_keeps_every_ticket_message_and_collaboration_once(world: World) -> None:
    home = people.save_user(world.db, world.admin, None, UserForm("Alice at home", "alice@home.example"))
    theirs = world.open(subject="From home", requester_email="alice@home.example")
    shared = world.open(subject="Shared", requester_email="bob@example.com")
    lifecycle.add_collaborator(world.db, world.admin, shared.id, "alice@home.example")
    lifecycle.add_collaborator(world.db, world.admin, shared.id, "alice@example.com")
    merged = people.merge_users(world.db, world.admin, world.alice.id, home.id)
    assert merged.tickets == 1  # the one from home is hers now
    assert tickets.get_ticket(world.db, world.admin, theirs.id).requester.id == world.alice.id
    assert count(world.db, Collaborator, Collaborator.ticket_id == shared.id) == 1
    assert count(world.db, User, User.email == "alice@home.example") == 0
    with pytest.raises(Invalid):
        people.merge_users(world.db, world.admin, world.alice.id, world.alice.id)
    [entry] = audit.audit_log(world.db, world.admin, kind=AuditKind.USER)[:1]
    assert entry.action is AuditAction.MERGED


def test_organizations_take_in_new_users_of_their_domains(world: World) -> None:
    acme = people.save_organization(
        world.db, world.admin, None, OrganizationForm("Acme", ("Acme.example", "@acme.co.uk"), True)
    )
    assert acme.form.domains == ("acme.example", "acme.co.uk")
    world.open(requester_email="wile@acme.example")
    added = accounts.add_user(world.db, world.admin, email="road@acme.co.uk", name="Road Runner")
    assert added.organization == "Acme"
    assert people.get_organization(world.db, world.admin, acme.id).members == 2
    for domains, message in (
        (("acme.example",), "another organization's domain"),
        (("not a domain",), "like example.com"),
    ):
        with pytest.raises(Invalid, match=message):
            people.save_organization(world.db, world.admin, None, OrganizationForm("Other", domains))
    with pytest.raises(Invalid, match="still used by 2 members"):
        people.delete_organization(world.db, world.admin, acme.id)


def test_canned_responses_are_kept_per_department_and_audited(world: World) -> None:
    shared = canned.save_canned(world.db, world.admin, None, CannedForm("Thanks", "Thank you, %{user.name}."))
    billing = canned.save_canned(
        world.db, world.admin, None, CannedForm("Refund", "Your refund is on its way.", world.billing)
    )
    assert [r.name for r in canned.list_canned(world.db, world.admin)] == ["Refund — Billing", "Thanks"]
    assert canned.get_canned(world.db, world.admin, billing.id).form.department_id == world.billing
    for form, field in (
        (CannedForm("", "x"), "title"),
        (CannedForm("T", " "), "body"),
        (CannedForm("T", "x" * 20_001), "body"),
    ):
        with pytest.raises(Invalid) as refused:
            canned.save_canned(world.db, world.admin, None, form)
        assert field in refused.value.fields
    canned.delete_canned(world.db, world.admin, shared.id)
    assert [e.action for e in audit.audit_log(world.db, world.admin, kind=AuditKind.CANNED)] == [
        AuditAction.DELETED, AuditAction.CREATED, AuditAction.CREATED
    ]  # fmt: skip


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=130), text=st.text(max_size=40))
def test_any_name_or_search_is_saved_or_refused_never_an_error(world: World, name: str, text: str) -> None:
    for save in (
        lambda: people.save_user(world.db, world.admin, world.bob.id, UserForm(name, "bob@example.com")),
        lambda: people.save_organization(world.db, world.admin, None, OrganizationForm(name)),
        lambda: canned.save_canned(world.db, world.admin, None, CannedForm(name, name or "x")),
    ):
        try:
            save()
        except Invalid as refused:
            assert refused.fields
    try:
        people.list_users(world.db, world.admin, text)
    except Invalid as refused:
        assert refused.fields
