"""The administration through the JSON API (POST /api/v1/admin/NAME), as an integration uses it: an agent's API
token, the service's keyword arguments as JSON, `{"value": …}` back, the API's errors.

The routes are generated from desk.services.calls.ADMINISTRATION, so the tests are too: every administration
service answers an administrator's token as it answers in-process (the agents' gate's cases, tests/web/test_gate.py),
and refuses a token of an agent without the right.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from desk.domain.permissions import Perm
from desk.domain.staff import AuditKind
from desk.services import accounts, calls
from desk.services.mail import intake
from tests.services.conftest import World
from tests.web.test_api import API, Api, error
from tests.web.test_gate import WRITES, read_cases, upload

ADMIN = f"{API}/admin"


@pytest.fixture
def api(app: FastAPI, world: World) -> Iterator[Api]:
    clients = Api(app, world)
    yield clients
    clients.close()


class Refused(Exception):
    """An error answer of the API, for the test to look at."""

    def __init__(self, response: httpx2.Response) -> None:
        super().__init__(f"{response.status_code} {response.text[:300]}")
        self.response = response


def through_api(client: TestClient, service: Callable[..., Any]) -> Callable[..., Any]:
    """The service called through its route as the client's agent, with arguments as a direct call takes them
    (encoded to JSON by the service's own model); its value back from the answer's `{"value": …}`."""
    signature = calls.signature(service)

    def call(*args: Any, **kwargs: Any) -> Any:
        body = signature.encode_arguments(args, kwargs).document
        response = client.post(f"{ADMIN}/{calls.name_of(service)}", content=body,
                               headers={"Content-Type": "application/json"})  # fmt: skip
        if response.status_code != 200:
            raise Refused(response)
        answer: Any = signature.result.model_validate_json(response.content)
        return answer.value

    return call


Case = Callable[[Callable[..., Any]], tuple[Any, Any]]


def administration_cases(world: World) -> dict[Callable[..., Any], Case]:
    """Each administration service with its case: given the service's `call`, what the call gave and what it
    must have given (the agents' gate's cases: a read's value in-process; a write's effect read in-process)."""
    ticket = world.open(subject="Printer on fire", assignee_id=world.manager.id, attachments=[upload("log.bin")])
    reads = read_cases(world, ticket, world.open(subject="Printer out of paper"))

    def read(service: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Case:
        return lambda call: (call(*args, **kwargs), service(world.db, world.admin, *args, **kwargs))

    def write(service: Callable[..., Any]) -> Case:
        return lambda call: WRITES[service](call, world, world.open(assignee_id=world.manager.id))

    services = [calls.SERVICES[name] for name in calls.ADMINISTRATION]
    return {s: read(s, *reads[s]) if s in reads else write(s) for s in services}


def test_every_administration_service_answers_an_administrators_token_as_in_process(api: Api) -> None:
    client = api.as_agent(api.world.admin)
    cases = administration_cases(api.world)
    assert len(cases) > 60 and calls.SERVICES["staff.move_department_tickets"] in cases
    for service, case in cases.items():
        got, expected = case(through_api(client, service))
        assert got == expected, calls.name_of(service)


def test_every_administration_route_refuses_an_agent_without_the_right(api: Api) -> None:
    """The limited agent (a role in Support, no right, no department they manage) gets 403 from each service's
    own check, with arguments that work for an administrator."""
    client = api.as_agent(api.world.limited)
    for service, case in administration_cases(api.world).items():
        with pytest.raises(Refused) as refused:
            case(through_api(client, service))
        body = error(refused.value.response, 403, "forbidden")
        assert "fields" not in body, calls.name_of(service)


def test_an_administrators_token_sets_up_a_department_with_a_role_an_agent_and_an_sla_plan(api: Api) -> None:
    world = api.world
    client = api.as_agent(world.admin)

    def value(name: str, arguments: dict[str, Any] | None = None) -> Any:
        response = client.post(f"{ADMIN}/{name}", json=arguments)
        assert response.status_code == 200, response.text
        return response.json()["value"]

    schedule = value("ticket_setup.list_schedules")[0]["id"]
    gold = {"name": "Gold", "resolution_hours": 8, "first_response_hours": 2, "schedule_id": schedule, "active": True,
            "grace_minutes": 0}  # fmt: skip
    sla = value("ticket_setup.save_sla", {"sla_id": None, "form": gold})
    assert sla == {"id": sla["id"], "form": gold, "open_tickets": 0}
    sales = {"name": "Sales", "public": False, "manager_id": None, "sla_id": sla["id"], "schedule_id": None,
             "signature": None, "mailbox_id": None, "time_required": False, "tasks_required": False,
             "assign_mode": "off", "assign_in_hours": False, "reassign_away": False, "escalate_minutes": None,
             "escalate_priority_id": None, "escalate_to_id": None}  # fmt: skip
    department = value("staff.save_department", {"department_id": None, "form": {"name": "Sales", "public": False,
                                                                                 "sla_id": sla["id"]}})  # fmt: skip
    assert department["form"] == sales
    role = value("staff.save_role", {"role_id": None, "form": {"name": "Sales desk", "permissions": ["ticket.reply"]}})
    nora = {"username": "nora", "name": "Nora Example", "email": "nora@x.example",
            "access": [{"department_id": department["id"], "role_id": role["id"]}]}  # fmt: skip
    agent = value("staff.save_agent", {"agent_id": None, "form": nora, "password": "long-enough"})

    assert value("ticket_setup.get_sla", {"sla_id": sla["id"]}) == sla
    assert {"id": sla["id"], "name": "Gold"} in value("ticket_setup.list_slas")
    assert value("staff.get_department", {"department_id": department["id"]})["form"] == sales
    assert {"id": department["id"], "name": "Sales"} in value("staff.list_departments")
    assert value("staff.get_role", {"role_id": role["id"]})["form"] == {"name": "Sales desk",
                                                                        "permissions": ["ticket.reply"]}  # fmt: skip
    assert value("staff.get_agent", {"agent_id": agent["id"]}) == agent
    assert agent["form"]["access"] == nora["access"] and agent["active"]
    # The agent signs in with the password, with the role in the new department.
    signed_in = accounts.authenticate_agent(world.db, "nora", "long-enough")
    assert signed_in.perms_on(department["id"], None, None) == {Perm.TICKET_REPLY}
    # The audit names the token's agent.
    changes = value("audit.audit_log", {"kind": AuditKind.AGENT.value, "text": "Nora"})
    assert [(entry["actor"], entry["target"]) for entry in changes] == [("Admin Agent", "Nora Example")]


def test_bad_arguments_are_422_with_the_fields_to_fix(api: Api) -> None:
    client = api.as_agent(api.world.admin)

    def fields(name: str, **request: Any) -> dict[str, str]:
        body = error(client.post(f"{ADMIN}/{name}", **request), 422, "invalid")
        return dict(body.get("fields", {}))

    # What the service's model refuses: missing, unknown, of the wrong type, not storable, out of range
    assert set(fields("staff.save_department", json={"form": {"public": "perhaps"}, "colour": "red"})) == {
        "department_id",
        "form.name",
        "form.public",
        "colour",
    }
    assert set(fields("staff.get_agent", json={"agent_id": "nora"})) == {"agent_id"}
    assert set(fields("staff.get_agent", json={"agent_id": True})) == {"agent_id"}  # a number is a number
    assert set(fields("staff.get_agent", json={"agent_id": "1"})) == {"agent_id"}
    assert set(fields("people.list_users", json={"after": ["", False]})) == {"after.1"}
    assert set(fields("staff.get_agent", json={"agent_id": 2**40})) == {"agent_id"}
    assert set(fields("staff.get_agent")) == {"body"}  # its argument is required: so is the body
    nul = {"sla_id": None, "form": {"name": "Gold\x00", "resolution_hours": 8}}
    assert set(fields("ticket_setup.save_sla", json=nul)) == {"form.name"}
    assert fields("staff.list_roles", json=[1])
    assert fields("staff.list_roles", content=b"{not json", headers={"Content-Type": "application/json"})
    # What the service itself refuses, in its own words
    assert fields("staff.save_department", json={"department_id": None, "form": {"name": " "}}) == {
        "name": "Enter the department's name."
    }
    taken = {"username": "admin", "name": "A", "email": "a@x.example"}
    assert "username" in fields("staff.save_agent", json={"agent_id": None, "form": taken, "password": "x" * 12})


def test_an_unknown_service_is_404_and_every_route_needs_a_token(api: Api) -> None:
    client = api.as_agent(api.world.admin)
    for name in ("staff.nope", "tickets.get_ticket", "staff.change_own_password", "accounts.add_agent", "staff"):
        body = error(client.post(f"{ADMIN}/{name}", json={}), 404, "not_found")
        assert repr(name) in body["message"], name
    error(client.post(f"{API}/admin", json={}), 404, "not_found")
    assert client.get(f"{ADMIN}/staff.list_roles").status_code == 405
    anonymous = api.client()
    for name in calls.ADMINISTRATION:
        error(anonymous.post(f"{ADMIN}/{name}", json={}), 401, "unauthenticated")


def test_the_openapi_document_lists_every_administration_route_with_its_schemas(api: Api) -> None:
    spec = api.client().get(f"{API}/openapi.json").json()
    schemas = spec["components"]["schemas"]
    documented = {path.removeprefix(f"{ADMIN}/") for path in spec["paths"] if path.startswith(f"{ADMIN}/")}
    assert documented == set(calls.ADMINISTRATION)
    for name in calls.ADMINISTRATION:
        service = calls.SERVICES[name]
        operation = spec["paths"][f"{ADMIN}/{name}"]["post"]
        assert operation["summary"] == calls.summary(service) and operation["security"] == [{"ApiToken": []}]
        assert operation["tags"] == [f"admin: {name.split('.')[0]}"]
        request = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        arguments = calls.signature(service).arguments.model_fields
        assert set(schemas[request].get("properties", {})) == set(arguments), name
        assert operation["requestBody"].get("required", False) == any(f.is_required() for f in arguments.values())
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert schemas[answer]["required"] == ["value"], name
        for status in ("401", "403", "404", "422"):
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}
    save_agent = schemas[spec["paths"][f"{ADMIN}/staff.save_agent"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]  # fmt: skip
    assert save_agent["required"] == ["agent_id", "form"] and "password" in save_agent["properties"]


def test_bytes_come_in_url_safe_base64_as_documented(api: Api) -> None:
    world = api.world
    raw = b"From: Nora <nora@example.org>\r\nSubject: 8-bit\r\n\r\n\xfb\xff\xbf\r\n"  # not UTF-8
    inbound = intake.store(world.db, None, None, raw)
    answer = api.as_agent(world.admin).post(f"{ADMIN}/intake.raw_message", json={"inbound_id": inbound})
    value = answer.json()["value"]
    assert base64.urlsafe_b64decode(value) == raw and set(value) & {"-", "_"}  # not the standard alphabet
    spec = api.client().get(f"{API}/openapi.json").json()
    assert "URL-safe base64" in spec["paths"][f"{ADMIN}/intake.raw_message"]["post"]["description"]
