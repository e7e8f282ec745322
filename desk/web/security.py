"""What guards the web side: session and CSRF cookies, rate limits, and the uploads a page accepts.

Sessions are random secrets in an HTTP-only, Secure, SameSite=Lax cookie, looked up in the database on each
request (desk.services.portal), so signing out or resetting a password ends them at once. CSRF uses the
double-submit pattern: a random cookie, repeated in a hidden field of every form, compared on each POST.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request, Response

from desk.domain import attachments
from desk.domain.hosts import is_loopback
from desk.services import reference
from desk.storage.db import Database

SESSION_COOKIE = "__Host-desk_session"  # __Host-: only this host, Secure, path /; no subdomain can set it
CSRF_COOKIE = "__Host-desk_csrf"
CSRF_FIELD = "csrf"

# What the Support Center accepts as attachments: documents, pictures, logs and archives, not programs or pages
# that would run when an agent opens them.
UPLOAD_EXTENSIONS = frozenset(
    ".txt .log .csv .json .xml .pdf .png .jpg .jpeg .gif .webp .heic .bmp .tif .tiff .doc .docx .xls .xlsx .ppt "
    ".pptx .odt .ods .odp .rtf .eml .msg .zip .7z .gz .tar .mp4 .mov .mp3 .wav".split()
)
MAX_FILES = 5


class Refused(Exception):
    """A request turned away before any service ran: a bad CSRF token, too many attempts (with Retry-After)."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class Unauthenticated(Exception):
    """No valid credentials: no session for a page that needs one, or a missing or unknown API token."""


@dataclass
class RateLimit:
    """At most `limit` attempts per `seconds` for each key (a client address, an email address), in this process.

    `desk serve` runs one process per server, so memory is where the attempts are counted; the accounts' own
    lockout (desk.services.accounts) holds across processes and restarts.
    """

    limit: int
    seconds: float
    clock: Callable[[], float] = time.monotonic
    _hits: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, *keys: str) -> None:
        """Count an attempt for every key; Refused (429) when one of them is over its limit."""
        moment = self.clock()
        with self._lock:
            waits = []
            for key in keys:
                hits = self._hits.setdefault(key, deque())
                while hits and hits[0] <= moment - self.seconds:
                    hits.popleft()
                if len(hits) >= self.limit:
                    waits.append(hits[0] + self.seconds - moment)
            if not waits:  # a refused attempt counts for no key: a flood from one address uses up no one's account
                for key in keys:
                    self._hits[key].append(moment)
            if len(self._hits) > 100_000:  # a flood of distinct keys: forget the idle ones
                self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > moment - self.seconds}
        if waits:
            wait = max(1, int(max(waits)) + 1)
            minutes = (wait + 59) // 60
            raise Refused(429, f"Too many attempts. Please wait {minutes} minute(s) and try again.", wait)


@dataclass
class RateLimits:
    sign_in: RateLimit = field(default_factory=lambda: RateLimit(10, 300))
    # Agents' Desk: 10 tries per agent (and per agent from one address); 100 per address, for a terminal server
    # where a whole office signs in from one address.
    agent_sign_in: RateLimit = field(default_factory=lambda: RateLimit(10, 300))
    agent_sign_in_address: RateLimit = field(default_factory=lambda: RateLimit(100, 300))
    register: RateLimit = field(default_factory=lambda: RateLimit(5, 3600))
    new_ticket: RateLimit = field(default_factory=lambda: RateLimit(10, 3600))
    mailed_link: RateLimit = field(default_factory=lambda: RateLimit(5, 3600))


class CurrentAttachmentRules:
    """The attachment size limit and types, read again after a minute: every upload and every request body is
    checked against them, and the services check them once more when they store a file."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self._db, self._clock = db, clock
        self._rules, self._until = attachments.AttachmentRules(0), 0.0

    def __call__(self) -> attachments.AttachmentRules:
        if self._clock() >= self._until:
            self._rules, self._until = reference.attachment_rules(self._db), self._clock() + 60
        return self._rules

    def cached(self) -> attachments.AttachmentRules | None:
        """The rules while they are fresh, without a look at the database (an event loop may ask); else None."""
        return self._rules if self._clock() < self._until else None


def attachment_rules(request: Request) -> attachments.AttachmentRules:
    """The rules the application keeps (desk.web.app puts a CurrentAttachmentRules in its state)."""
    rules: CurrentAttachmentRules = request.app.state.attachment_rules
    return rules()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def from_this_machine(request: Request) -> bool:
    """A browser on the server's own machine: a loopback client that came through no proxy (a proxy on this machine
    would make everyone's requests look local)."""
    forwarded = any(name in request.headers for name in ("forwarded", "x-forwarded-for", "x-real-ip"))
    return is_loopback(client_address(request)) and not forwarded


def csrf_token(request: Request) -> str:
    """The token for this browser's forms: its cookie, or a new one (set on the response by `remember_csrf`)."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token:
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def remember_csrf(request: Request, response: Response) -> None:
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, secure=True, samesite="lax", path="/")


def check_csrf(request: Request, submitted: str | None) -> None:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise Refused(403, "This form has expired or did not come from this site. Reload the page and send it again.")


def set_session(response: Response, secret: str, max_age: int) -> None:
    """A new session, with a new CSRF token: a token known before signing in is worth nothing after it."""
    response.set_cookie(SESSION_COOKIE, secret, max_age=max_age, httponly=True, secure=True, samesite="lax", path="/")
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(32), httponly=True, secure=True, samesite="lax", path="/")


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")


def upload_problem(name: str, size: int, rules: attachments.AttachmentRules) -> str | None:
    """Why a file cannot be attached, or None; decided on the name it will be stored under ("x.exe." is a program).
    A file must be of a type the administrator lists (when they list any) and of one the pages accept."""
    name = attachments.safe_name(name)
    if problem := rules.type_problem(name):
        return problem
    extension = f".{attachments.extension(name)}".rstrip(".")
    if extension not in UPLOAD_EXTENSIONS:
        return f"“{name}” cannot be attached: {extension or 'files without an extension'} are not accepted."
    if size > rules.max_bytes:
        return f"“{name}” is too large: attach files up to {rules.max_bytes // (1024 * 1024)} MB."
    if size == 0:
        return f"“{name}” is empty."
    return None
