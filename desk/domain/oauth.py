"""OAuth2 for mailboxes (Microsoft 365, Google, or any OpenID provider): the providers' endpoints, PKCE, and the
XOAUTH2 string IMAP and SMTP servers take instead of a password. Pure: the requests themselves are made by
desk.services.mail.oauth."""

from __future__ import annotations

import base64
import hashlib
import secrets
import urllib.parse
from dataclasses import dataclass

# Refreshed this long before it expires, so a fetch or a send never starts with a token about to lapse.
REFRESH_MARGIN_S = 300


@dataclass(frozen=True)
class Endpoints:
    authorize: str
    token: str
    device: str | None


@dataclass(frozen=True)
class Provider:
    """How a provider is reached. `issuer`: Microsoft's tenant ("organizations", a domain or an id), or the base
    address of any other OpenID provider (its endpoints are read from /.well-known/openid-configuration)."""

    key: str
    title: str
    scopes: str
    imap: tuple[str, int, str] | None  # host, port, security: filled in when the administrator picks the provider
    smtp: tuple[str, int, str] | None
    issuer_hint: str

    def endpoints(self, issuer: str) -> Endpoints | None:
        """The endpoints for this issuer; None for a provider whose endpoints must be discovered."""
        if self.key == "microsoft":
            base = f"https://login.microsoftonline.com/{urllib.parse.quote(issuer or 'organizations', safe='')}"
            return Endpoints(
                f"{base}/oauth2/v2.0/authorize", f"{base}/oauth2/v2.0/token", f"{base}/oauth2/v2.0/devicecode"
            )
        if self.key == "google":
            return Endpoints(
                "https://accounts.google.com/o/oauth2/v2/auth",
                "https://oauth2.googleapis.com/token",
                "https://oauth2.googleapis.com/device/code",
            )
        return None


PROVIDERS = {
    provider.key: provider
    for provider in (
        Provider(
            "microsoft",
            "Microsoft 365",
            "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access",
            ("outlook.office365.com", 993, "tls"),
            ("smtp.office365.com", 587, "starttls"),
            "Tenant: organizations, your domain or the tenant id",
        ),
        Provider(
            "google",
            "Google Workspace / Gmail",
            "https://mail.google.com/",
            ("imap.gmail.com", 993, "tls"),
            ("smtp.gmail.com", 587, "starttls"),
            "",
        ),
        Provider("openid", "Other (OpenID provider)", "openid offline_access", None, None, "The provider's address"),
    )
}


def issuer_problem(issuer: str) -> str | None:
    """What is wrong with an OpenID provider's address: it must be https (http only on this machine, for tests)."""
    parts = urllib.parse.urlsplit(issuer)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.hostname or (parts.scheme != "https" and not (parts.scheme == "http" and loopback)):
        return "Enter the provider's address, starting with https:// (e.g. https://login.example.com/realm)."
    return None


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier (kept by whoever exchanges the code) and its S256 challenge (sent to the browser)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, challenge_of(verifier)


def challenge_of(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorization_url(
    endpoint: str, client_id: str, scopes: str, redirect_uri: str, challenge: str, state: str, login_hint: str
) -> str:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scopes,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "login_hint": login_hint,
        "access_type": "offline",  # Google: a refresh token
        "prompt": "consent",
    }
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urllib.parse.urlencode(query)}"


def xoauth2(user: str, access_token: str) -> str:
    """The SASL XOAUTH2 initial response (before base64, which imaplib and smtplib add)."""
    return f"user={user}\x01auth=Bearer {access_token}\x01\x01"
