"""Mailboxes that sign in with OAuth2 (Microsoft 365, Google, any OpenID provider) instead of passwords.

An administrator gives consent once, in the browser (the authorization code with PKCE, from the Administration
window: the browser comes back to a loopback address on the administrator's machine) or, where no browser is at
hand, with a device code (`desk mailbox authorize`). The server exchanges the code for tokens; the refresh token,
the access token and the client secret are sealed together on the mailbox (desk.storage.secrets), and the access
token is refreshed before it expires. A provider that no longer honours the refresh token (consent withdrawn,
the account's password changed) raises ConsentWithdrawn, which the worker tells administrators at once.

Requests to the provider are made outside any database transaction.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx2
from sqlalchemy.orm import Session

from desk.domain.errors import Invalid
from desk.domain.oauth import PROVIDERS, REFRESH_MARGIN_S, Endpoints, authorization_url
from desk.domain.permissions import Actor, Right
from desk.domain.staff import AuditAction, AuditKind
from desk.services import audit
from desk.services.accounts import require_right
from desk.services.base import now
from desk.services.editing import get_row
from desk.services.mail.secrets import MissingPassword
from desk.storage.db import Database
from desk.storage.models import Mailbox
from desk.storage.secrets import SecretKeyProblem, seal, unseal

TIMEOUT = httpx2.Timeout(20.0, connect=10.0)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# The browser comes back to the administrator's own machine: a loopback address, never anywhere else.
LOOPBACK_REDIRECT = re.compile(r"^http://(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}/[\w/-]*$")


class OAuthProblem(MissingPassword):
    """The provider refused or did not answer; the message says what to do. Mail waits, as for a password that
    cannot be decrypted."""


class ConsentWithdrawn(OAuthProblem):
    """The provider no longer accepts the mailbox's refresh token: an administrator must sign in again."""


@dataclass(frozen=True)
class DeviceAuthorization:
    """What the administrator types where: `user_code` at `verification_uri`; Desk asks again every `interval`."""

    verification_uri: str
    user_code: str
    device_code: str
    interval: int
    expires_in: int


@dataclass(frozen=True)
class _Client:
    mailbox_id: int
    address: str
    provider: str
    client_id: str
    issuer: str
    user: str
    sealed: dict[str, Any]


# --- the administrator's consent --------------------------------------------------------------------------------


def consent_url(db: Database, actor: Actor, mailbox_id: int, redirect_uri: str, challenge: str, state: str) -> str:
    """The provider's page where the administrator signs in to the mailbox's account and gives Desk access; the
    browser then comes back to `redirect_uri` (a loopback address) with a code for complete_consent."""
    client = _client(db, actor, mailbox_id)
    if not LOOPBACK_REDIRECT.match(redirect_uri):
        raise Invalid("The browser can only come back to this machine (http://127.0.0.1:PORT/).")
    scopes = PROVIDERS[client.provider].scopes
    return authorization_url(
        _endpoints(client).authorize, client.client_id, scopes, redirect_uri, challenge, state, client.user
    )


def complete_consent(db: Database, actor: Actor, mailbox_id: int, code: str, verifier: str, redirect_uri: str) -> None:
    """Exchange the code the browser brought back for the mailbox's tokens, and keep them."""
    client = _client(db, actor, mailbox_id)
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": redirect_uri}
    _keep(db, actor, client, _token_request(client, form), "signed in in the browser")


def start_device_consent(db: Database, actor: Actor, mailbox_id: int) -> DeviceAuthorization:
    """A device code for a machine without a browser: the administrator opens the address on any device, types
    the code and signs in; finish_device_consent collects the tokens once they have."""
    client = _client(db, actor, mailbox_id)
    endpoint = _endpoints(client).device
    if endpoint is None:
        raise Invalid(
            f"{PROVIDERS[client.provider].title} gives no device codes: sign in from the Administration window."
        )
    answer = _post(endpoint, {"client_id": client.client_id, "scope": PROVIDERS[client.provider].scopes})
    try:
        return DeviceAuthorization(
            verification_uri=str(answer.get("verification_uri") or answer["verification_url"]),
            user_code=str(answer["user_code"]),
            device_code=str(answer["device_code"]),
            interval=max(1, int(answer.get("interval", 5))),
            expires_in=int(answer.get("expires_in", 900)),
        )
    except (KeyError, TypeError, ValueError):
        raise OAuthProblem(f"{endpoint} did not answer with a device code.") from None


def finish_device_consent(db: Database, actor: Actor, mailbox_id: int, device_code: str) -> bool:
    """True once the administrator has signed in (the tokens are kept); False while they have not yet."""
    client = _client(db, actor, mailbox_id)
    try:
        tokens = _token_request(client, {"grant_type": DEVICE_GRANT, "device_code": device_code})
    except OAuthProblem as problem:
        if problem.args and str(problem.args[0]).startswith(("authorization_pending", "slow_down")):
            return False
        raise
    _keep(db, actor, client, tokens, "signed in with a device code")
    return True


# --- the worker's side --------------------------------------------------------------------------------------------


def access_token(db: Database, mailbox_id: int) -> str:
    """A usable access token for the mailbox, refreshed first when it expires within REFRESH_MARGIN_S."""
    with db.transaction(write=False) as session:
        client = _client_of(session, get_row(session, Mailbox, mailbox_id))
    sealed = client.sealed
    expires = datetime.fromisoformat(sealed["expires"]) if sealed.get("expires") else None
    if sealed.get("access") and expires is not None and expires - now() > timedelta(seconds=REFRESH_MARGIN_S):
        return str(sealed["access"])
    if not sealed.get("refresh"):
        raise ConsentWithdrawn(_sign_in_again(client, "Desk holds no sign-in for it."))
    try:
        tokens = _token_request(client, {"grant_type": "refresh_token", "refresh_token": sealed["refresh"]})
    except OAuthProblem as problem:
        if str(problem.args[0]).startswith("invalid_grant"):
            raise ConsentWithdrawn(_sign_in_again(client, f"The provider said: {problem}")) from None
        raise
    with db.transaction() as session:
        mailbox = get_row(session, Mailbox, mailbox_id)
        mailbox.oauth_secret = _sealed({**_unsealed(mailbox), **_kept(tokens, sealed)})
    return str(tokens["access_token"])


def _sign_in_again(client: _Client, why: str) -> str:
    return (
        f"{PROVIDERS[client.provider].title} no longer lets Desk into {client.address}. {why} An administrator must "
        "sign in again: Administration › Mail › Mailboxes › Sign in…, or `desk mailbox authorize "
        f"{client.address}`."
    )


# --- private --------------------------------------------------------------------------------------------------


def _client(db: Database, actor: Actor, mailbox_id: int) -> _Client:
    require_right(actor, Right.ADMIN)
    with db.transaction(write=False) as session:
        return _client_of(session, get_row(session, Mailbox, mailbox_id))


def _client_of(session: Session, mailbox: Mailbox) -> _Client:
    if not mailbox.oauth_provider or not mailbox.oauth_client_id:
        raise Invalid(f"Mailbox {mailbox.address} does not sign in with OAuth2: choose a provider and a client id.")
    return _Client(
        mailbox.id,
        mailbox.address,
        mailbox.oauth_provider,
        mailbox.oauth_client_id,
        mailbox.oauth_issuer or "",
        mailbox.imap_user or mailbox.smtp_user or mailbox.address,
        _unsealed(mailbox),
    )


def _unsealed(mailbox: Mailbox) -> dict[str, Any]:
    if mailbox.oauth_secret is None:
        return {}
    try:
        found = json.loads(unseal(mailbox.oauth_secret))
    except SecretKeyProblem as error:
        raise OAuthProblem(f"The OAuth2 sign-in of {mailbox.address} cannot be decrypted. {error}") from None
    return found if isinstance(found, dict) else {}


def _sealed(values: dict[str, Any]) -> str:
    return seal(json.dumps(values))


def seal_client_secret(mailbox: Mailbox, client_secret: str | None, *, forget_tokens: bool) -> None:
    """Set the client secret (None keeps it, "" removes it) and, when the provider, client or issuer changed, forget
    the tokens (they belong to the old client)."""
    values = {} if forget_tokens else _unsealed(mailbox)
    kept_secret = _unsealed(mailbox).get("client_secret") if forget_tokens else values.get("client_secret")
    values["client_secret"] = kept_secret if client_secret is None else (client_secret or None)
    values = {key: value for key, value in values.items() if value}
    mailbox.oauth_secret = _sealed(values) if values else None


def signed_in(mailbox: Mailbox) -> bool:
    """Whether the mailbox holds a refresh token (an administrator gave consent); False when it cannot be read."""
    try:
        return bool(_unsealed(mailbox).get("refresh"))
    except OAuthProblem:
        return False


def _keep(db: Database, actor: Actor, client: _Client, tokens: dict[str, Any], how: str) -> None:
    with db.transaction() as session:
        mailbox = get_row(session, Mailbox, client.mailbox_id)
        mailbox.oauth_secret = _sealed({**_unsealed(mailbox), **_kept(tokens, {})})
        mailbox.failures, mailbox.alerted, mailbox.last_error = 0, False, None
        changes = {"OAuth2": (None, f"{how} ({PROVIDERS[client.provider].title})")}
        audit.record(session, actor, AuditAction.CHANGED, AuditKind.MAILBOX, mailbox.id, mailbox.name, changes)


def _kept(tokens: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """What is sealed of a token answer: a provider that does not rotate refresh tokens keeps the old one."""
    try:
        lifetime = int(tokens.get("expires_in", 3600))
        return {
            "access": str(tokens["access_token"]),
            "refresh": str(tokens.get("refresh_token") or before.get("refresh") or ""),
            "expires": (now() + timedelta(seconds=lifetime)).isoformat(),
        }
    except (KeyError, TypeError, ValueError):
        raise OAuthProblem("The provider's answer holds no access token.") from None


def _token_request(client: _Client, form: dict[str, str]) -> dict[str, Any]:
    secret = client.sealed.get("client_secret")
    return _post(
        _endpoints(client).token,
        {**form, "client_id": client.client_id, **({"client_secret": secret} if secret else {})},
    )


def _post(endpoint: str, form: dict[str, str]) -> dict[str, Any]:
    """The provider's JSON answer; an OAuth error raised as OAuthProblem("<error>: <description>")."""
    try:
        response = httpx2.post(endpoint, data=form, timeout=TIMEOUT, headers={"Accept": "application/json"})
        answer = response.json()
    except httpx2.HTTPError as error:
        raise OAuthProblem(f"{_host(endpoint)} does not answer: {error}") from None
    except ValueError:
        raise OAuthProblem(f"{_host(endpoint)} did not answer in JSON (HTTP {response.status_code}).") from None
    if not isinstance(answer, dict):
        raise OAuthProblem(f"{_host(endpoint)} gave an answer Desk does not understand.")
    if response.status_code != 200 or "error" in answer:
        kind, description = str(answer.get("error", f"HTTP {response.status_code}")), answer.get("error_description")
        raise OAuthProblem(f"{kind}: {description}" if description else kind)
    return answer


def _endpoints(client: _Client) -> Endpoints:
    known = PROVIDERS[client.provider].endpoints(client.issuer)
    if known is not None:
        return known
    address = client.issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = httpx2.get(address, timeout=TIMEOUT)
        found = response.json()
        return Endpoints(
            str(found["authorization_endpoint"]),
            str(found["token_endpoint"]),
            found.get("device_authorization_endpoint"),
        )
    except (httpx2.HTTPError, ValueError, KeyError, TypeError) as error:
        raise OAuthProblem(f"{address} does not describe an OpenID provider ({error}).") from None


def _host(endpoint: str) -> str:
    return urllib.parse.urlsplit(endpoint).netloc or endpoint
