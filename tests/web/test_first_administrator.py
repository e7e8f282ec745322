"""A Desk server on a new database: its first administrator is created from a Desk window with the set-up code
`desk serve` printed, by nobody without it, and only once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from desk.client.remote import RemoteServices
from desk.domain.errors import Invalid, PermissionDenied
from desk.services import audit, staff
from desk.storage.db import Database
from tests.web.serving import desk_serve

CODE = re.compile(r"set-up code ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})")


def test_the_first_administrator_needs_the_printed_code_and_is_made_once(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    with desk_serve(database_url, log) as url:
        found = CODE.search(log.read_text())
        assert found is not None, log.read_text()
        code = found.group(1)
        window = RemoteServices(url)
        assert window.needs_administrator()
        with pytest.raises(Invalid) as refused:
            window.create_administrator("ada", "Ada", "ada@example.com", "ada-password", code="AAAA-BBBB-CCCC")
        assert set(refused.value.fields) == {"code"} and not window.secret
        assert staff.needs_first_administrator(db)
        with pytest.raises(Invalid) as refused:
            window.create_administrator("a d a", "Ada", "ada@example.com", "ada-password", code=code)
        assert "username" in refused.value.fields
        # read off the console: any case, and with or without the dashes
        ada = window.create_administrator("ada", "Ada", "ada@example.com", "ada-password", code=code.lower())
        assert ada.is_admin and window.secret is not None
        assert [a.username for a in window.call(staff.list_agents, ada)] == ["ada"]
        [signed] = window.call(audit.sign_ins, ada)
        assert (signed.principal, signed.success, signed.client_address) == ("ada", True, "127.0.0.1")
        assert not window.needs_administrator()
        other = RemoteServices(url)
        with pytest.raises(PermissionDenied, match="has its administrator already"):
            other.create_administrator("eve", "Eve", "eve@example.com", "eve-password", code=code.replace("-", ""))
        window.close()
        other.close()
    with desk_serve(database_url, log) as url:  # restarted with an administrator: no code any more
        assert "set-up code" not in log.read_text()
        late = RemoteServices(url)
        with pytest.raises(Invalid, match="no set-up code"):
            late.create_administrator("eve", "Eve", "eve@example.com", "eve-password", code=code)
        late.close()
