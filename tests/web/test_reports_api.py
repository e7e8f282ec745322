"""/api/v1/reports/{kind}: a report's figures as JSON and CSV for BI tools, under the reports' permission rules."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from desk.domain.permissions import Right
from desk.services import accounts, lifecycle
from tests.services.conftest import SYSTEM, World
from tests.web import test_api
from tests.web.test_api import API, Api, error

api = test_api.api  # the fixture: agents' clients with their API tokens


def this_week() -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {"start": (today - timedelta(days=6)).isoformat(), "end": today.isoformat()}


def test_a_report_as_json_and_as_csv(api: Api, world: World) -> None:
    first = world.open()
    world.open(department_id=world.billing, by=world.admin)
    lifecycle.resolve(world.db, world.admin, first.id)
    client = api.as_agent(world.admin)

    answer = client.get(f"{API}/reports/volume", params={**this_week(), "grouping": "department"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["columns"] == ["opened", "resolved", "closed", "reopened"]
    assert [(row["label"], row["values"]) for row in body["rows"]] == [
        ("Billing", [1, 0, 0, 0]),
        ("Support", [1, 1, 0, 0]),
    ]
    assert body["total"]["values"] == [2, 1, 0, 0]

    answer = client.get(f"{API}/reports/volume", params={**this_week(), "grouping": "department", "format": "csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith("\ufeff".encode())  # Excel on Windows reads it as UTF-8
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] == ["key", "label", "opened", "resolved", "closed", "reopened"]
    assert rows[1:] == [
        [str(world.billing), "Billing", "1", "0", "0", "0"],
        [str(world.support), "Support", "1", "1", "0", "0"],
        ["", "Total", "2", "1", "0", "0"],
    ]


def test_the_same_rules_as_in_desk(api: Api, world: World) -> None:
    world.open()
    world.open(department_id=world.billing, by=world.admin)
    error(api.as_agent(world.manager).get(f"{API}/reports/volume", params=this_week()), 403, "forbidden")
    billing = accounts.add_agent(
        world.db,
        SYSTEM,
        username="analyst",
        name="Ann Analyst",
        email="ann@desk.example",
        password="analyst-password",
        access={"Billing": "View only"},
        rights=(Right.REPORTS_VIEW,),
    )
    client = api.as_agent(billing)
    body = client.get(f"{API}/reports/volume", params={**this_week(), "grouping": "department"}).json()
    assert [row["label"] for row in body["rows"]] == ["Billing"]
    refused = client.get(f"{API}/reports/volume", params={**this_week(), "department_id": world.support})
    error(refused, 403, "forbidden")
    wrong = client.get(f"{API}/reports/sla", params={**this_week(), "grouping": "age"})
    assert "cannot be grouped by age" in error(wrong, 422, "invalid")["message"]
    error(api.client().get(f"{API}/reports/volume", params=this_week()), 401, "unauthenticated")
