"""A real OAuth2 / OpenID provider on 127.0.0.1 for tests: what Microsoft 365 or Google are to a real office.

It speaks HTTP the way the big providers do: OpenID discovery, the authorization-code flow with PKCE (S256 only;
the "browser" is the test, which follows the redirect back to Desk's loopback address), the device-code flow,
refresh tokens (rotated at each refresh, as Microsoft does), and token introspection (RFC 7662), which Dovecot's
oauth2 passdb and the SMTP test server use to check the access tokens Desk presents. `withdraw` makes every
refresh token of an account worthless (consent withdrawn); `expire` makes the access tokens lapse.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import pytest

from desk.domain.oauth import pkce_pair
from desk.domain.permissions import Actor
from desk.services import mailboxes
from desk.services.mail import oauth
from desk.storage.db import Database

CLIENT_ID = "desk-test-client"


@dataclass
class _State:
    account: str  # who signs in at the authorization page
    codes: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # code -> challenge, redirect, account
    access: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> account, expires (epoch)
    refresh: dict[str, str] = field(default_factory=dict)  # token -> account
    devices: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # device code -> user code, account
    lifetime: int = 3600
    token_requests: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class OAuthProvider:
    def __init__(self, account: str) -> None:
        self.state = _State(account)
        state, provider = self.state, self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet: the tests say what failed
                pass

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/.well-known/openid-configuration":
                    base = provider.url
                    self._json(200, {
                        "issuer": base, "authorization_endpoint": f"{base}/authorize",
                        "token_endpoint": f"{base}/token", "device_authorization_endpoint": f"{base}/device",
                        "introspection_endpoint": f"{base}/introspect",
                    })  # fmt: skip
                elif path == "/authorize":
                    self._authorize(dict(urllib.parse.parse_qsl(query)))
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if self.path == "/token":
                    self._token(form)
                elif self.path == "/device":
                    device, user = secrets.token_urlsafe(16), secrets.token_hex(4).upper()
                    with state.lock:
                        state.devices[device] = (user, None)
                    base = provider.url
                    self._json(200, {"device_code": device, "user_code": user, "interval": 1, "expires_in": 600,
                                     "verification_uri": f"{base}/device-login"})  # fmt: skip
                elif self.path == "/introspect":
                    self._json(200, _introspect(state, form.get("token", "")))
                else:
                    self._json(404, {"error": "not_found"})

            def _authorize(self, query: dict[str, str]) -> None:
                if query.get("client_id") != CLIENT_ID or query.get("code_challenge_method") != "S256":
                    self._json(400, {"error": "invalid_request"})
                    return
                code = secrets.token_urlsafe(16)
                with state.lock:
                    state.codes[code] = (query["code_challenge"], query["redirect_uri"], state.account)
                back = {"code": code, "state": query.get("state", "")}
                self.send_response(302)
                self.send_header("Location", f"{query['redirect_uri']}?{urllib.parse.urlencode(back)}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _token(self, form: dict[str, str]) -> None:
                with state.lock:
                    state.token_requests.append(form)
                    answer = _grant(state, form)
                self._json(400 if "error" in answer else 200, answer)

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def approve_device(self, user_code: str) -> None:
        """The administrator typed the code on another device and signed in there."""
        with self.state.lock:
            for device, (user, _) in self.state.devices.items():
                if user == user_code:
                    self.state.devices[device] = (user, self.state.account)

    def withdraw(self, account: str) -> None:
        """Consent withdrawn (or the account's password changed): its refresh and access tokens are worthless."""
        with self.state.lock:
            self.state.refresh = {t: a for t, a in self.state.refresh.items() if a != account}
            self.state.access = {t: v for t, v in self.state.access.items() if v[0] != account}

    def expire(self) -> None:
        """Every access token lapses now (refresh tokens stay good)."""
        with self.state.lock:
            self.state.access = {t: (a, 0.0) for t, (a, _) in self.state.access.items()}

    def is_valid(self, token: str) -> str | None:
        """The account an access token belongs to while it is good."""
        answer = _introspect(self.state, token)
        return str(answer["username"]) if answer["active"] else None

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _grant(state: _State, form: dict[str, str]) -> dict[str, Any]:
    if form.get("client_id") != CLIENT_ID:
        return {"error": "invalid_client"}
    grant = form.get("grant_type")
    if grant == "authorization_code":
        found = state.codes.pop(form.get("code", ""), None)
        if found is None or found[1] != form.get("redirect_uri"):
            return {"error": "invalid_grant", "error_description": "Unknown code or another redirect address."}
        verifier = form.get("code_verifier", "").encode()
        if base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode() != found[0]:
            return {"error": "invalid_grant", "error_description": "PKCE verifier does not match."}
        return _issue(state, found[2])
    if grant == "refresh_token":
        account = state.refresh.pop(form.get("refresh_token", ""), None)  # rotated: each is good once
        return _issue(state, account) if account else {"error": "invalid_grant", "error_description": "Revoked."}
    if grant == "urn:ietf:params:oauth:grant-type:device_code":
        device = state.devices.get(form.get("device_code", ""))
        if device is None:
            return {"error": "expired_token"}
        if device[1] is None:
            return {"error": "authorization_pending"}
        del state.devices[form["device_code"]]
        return _issue(state, device[1])
    return {"error": "unsupported_grant_type"}


def _issue(state: _State, account: str) -> dict[str, Any]:
    access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    state.access[access] = (account, time.time() + state.lifetime)
    state.refresh[refresh] = account
    return {"access_token": access, "refresh_token": refresh, "expires_in": state.lifetime, "token_type": "Bearer"}


def _introspect(state: _State, token: str) -> dict[str, Any]:
    with state.lock:
        account, expires = state.access.get(token, ("", 0.0))
    return {"active": True, "username": account} if expires > time.time() else {"active": False}


@pytest.fixture
def oauth_provider() -> Iterator[OAuthProvider]:
    provider = OAuthProvider("desk")
    try:
        yield provider
    finally:
        provider.close()


_SHARED: list[OAuthProvider] = []
REDIRECT = "http://127.0.0.1:53682/"


def shared_provider() -> OAuthProvider:
    """One provider for the whole test run, for tables of cases that take no fixtures (the permission matrix, the
    gate's cases); its thread ends with the process."""
    if not _SHARED:
        _SHARED.append(OAuthProvider("desk"))
    return _SHARED[0]


def oauth_mailbox(db: Database, admin: Actor) -> int:
    """A new mailbox that signs in with the shared provider (not signed in yet)."""
    name = f"oauth-{secrets.token_hex(6)}"
    form = mailboxes.MailboxForm(
        name=name, address=f"{name}@desk.example", imap_host="127.0.0.1", imap_user="desk", oauth_provider="openid",
        oauth_client_id=CLIENT_ID, oauth_issuer=shared_provider().url,
    )  # fmt: skip
    return mailboxes.save_mailbox(db, admin, None, form).id


def browser_code(db: Database, admin: Actor, mailbox_id: int) -> tuple[str, str]:
    """What the administrator's browser brings back for the mailbox: (code, PKCE verifier)."""
    verifier, challenge = pkce_pair()
    url = oauth.consent_url(db, admin, mailbox_id, REDIRECT, challenge, "state")
    location = httpx2.get(url, follow_redirects=False, trust_env=False).headers["location"]
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))["code"], verifier


def approved_device(db: Database, admin: Actor, mailbox_id: int) -> str:
    """A device code the administrator has approved on another device."""
    device = oauth.start_device_consent(db, admin, mailbox_id)
    shared_provider().approve_device(device.user_code)
    return device.device_code
