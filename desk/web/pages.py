"""The Support Center: plain HTML pages for end users (no script), every form with a CSRF token.

Each page calls the services as the signed-in end user; who may see which ticket is decided there, never here.
Forms post back to themselves; a form with an error is shown again with the message beside the field and the
text kept, and a successful post redirects (so a reload never sends twice).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import AfterValidator
from starlette.exceptions import HTTPException as StarletteHTTPException

from desk.domain.attachments import AttachmentRules, picture_type
from desk.domain.enums import ActorKind, EntryKind, StatusState
from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.inputs import MAX_ID
from desk.domain.permissions import SystemActor, UserActor
from desk.domain.views import EntryView, Upload, format_size
from desk.services import entries, lifecycle, portal, tickets
from desk.services.base import now
from desk.services.mail import outbound
from desk.services.richtext import resolve_pictures, show_link_targets
from desk.storage.db import Database
from desk.web.security import (
    CSRF_FIELD,
    MAX_FILES,
    SESSION_COOKIE,
    RateLimits,
    Unauthenticated,
    attachment_rules,
    check_csrf,
    clear_session,
    client_address,
    csrf_token,
    from_this_machine,
    remember_csrf,
    set_session,
    upload_problem,
)

router = APIRouter(include_in_schema=False)
templates = Environment(
    loader=FileSystemLoader(FilePath(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["size"] = format_size


def entry_html(entry: EntryView) -> str:
    """An entry's sanitised HTML as the page shows it: each `cid:` picture from the entry's own stored attachment
    (its address below, checked like any download), every other picture without a source, and the real target
    beside each link whose text poses as another address."""
    pictures = {
        attachment.content_id: f"/attachments/{attachment.id}/picture"
        for attachment in entry.attachments
        if attachment.content_id and picture_type(attachment.name, attachment.size)
    }
    return show_link_targets(resolve_pictures(entry.body_html or "", pictures.get))


templates.filters["entry_html"] = entry_html
# Form text without NUL characters, which PostgreSQL refuses to store and no person types.
Text = Annotated[str, Form(), AfterValidator(lambda text: text.replace("\x00", ""))]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Csrf = Annotated[str | None, Form(alias=CSRF_FIELD)]

NOTICE_COOKIE = "__Host-desk_notice"
NOTICES = {
    "reply": "Your reply was sent.",
    "confirmed": "Thank you for confirming: the ticket is closed.",
    "reopened": "The ticket is open again; we will get back to you.",
    "rated": "Thank you for your rating.",
    "welcome": "Your address is confirmed and you are signed in.",
    "password": "Your new password is set and you are signed in.",
    "signed-out": "You are signed out.",
}

ERROR_TITLES = {
    403: "Not allowed",
    404: "Not found",
    405: "Not found",
    409: "Changed meanwhile",
    410: "Link expired",
    413: "Too large",
    429: "Too many attempts",
}

# --- plumbing ----------------------------------------------------------------------------------------------------


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _user(request: Request) -> UserActor | None:
    """The signed-in end user, or None; looked up once per request."""
    if not hasattr(request.state, "user"):
        secret = request.cookies.get(SESSION_COOKIE)
        user = None
        if secret:
            try:
                user = portal.session_actor(_db(request), secret)
            except PermissionDenied:
                user = None
        request.state.user = user
    found: UserActor | None = request.state.user
    return found


def _require_user(request: Request) -> UserActor:
    user = _user(request)
    if user is None:
        raise Unauthenticated("Sign in to see your tickets.")
    return user


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    page = templates.get_template(name).render(
        {
            "user": _user(request),
            "csrf": csrf_token(request),
            "csrf_field": CSRF_FIELD,
            "notice": NOTICES.get(request.cookies.get(NOTICE_COOKIE, "")),
            "attachment_rules": attachment_rules(request),
            "errors": {},
            "values": {},
            **context,
        }
    )
    response = HTMLResponse(page, status_code=status)
    response.headers["Cache-Control"] = "no-store"  # pages show private tickets: never from a shared cache
    remember_csrf(request, response)
    if NOTICE_COOKIE in request.cookies:
        response.delete_cookie(NOTICE_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    title = ERROR_TITLES.get(status, "Something went wrong")
    return render(request, "error.html", status, title=title, message=message)


def _check_your_mail(request: Request, message: str) -> HTMLResponse:
    return render(request, "message.html", title="Check your mail", message=message)


def _redirect(url: str, notice: str | None = None) -> RedirectResponse:
    """See other: the page after a successful post, with what to tell the person there (once: a reload of that
    page does not say it again)."""
    response = RedirectResponse(url, status_code=303)
    if notice is not None:
        assert notice in NOTICES
        response.set_cookie(NOTICE_COOKIE, notice, max_age=60, httponly=True, secure=True, samesite="lax", path="/")
    return response


def _link(request: Request, path: str) -> str:
    """An address for a mail: the configured public URL, never the Host header a request claims."""
    base: str = request.app.state.public_url
    return base + path


def sign_in_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/sign-in?" + urlencode({"next": target})


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would lend our name to a phishing page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/tickets"


def _signed_in(response: Response, signed_in: portal.SignedIn) -> Response:
    max_age = int((signed_in.expires_at - now()).total_seconds())
    set_session(response, signed_in.secret, max_age)
    return response


def _limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.limits
    return limits


def _form_error(error: Invalid) -> dict[str, str]:
    return dict(error.fields) if error.fields else {"form": str(error)}


def _uploads(files: list[UploadFile], rules: AttachmentRules) -> tuple[list[Upload], str | None]:
    """The files of a form, or what is wrong with them."""
    chosen = [f for f in files if f.filename]
    if len(chosen) > MAX_FILES:
        return [], f"Attach at most {MAX_FILES} files."
    uploads = []
    for file in chosen:
        data = file.file.read(rules.max_bytes + 1)
        name = FilePath(file.filename or "").name
        problem = upload_problem(name, len(data), rules)
        if problem:
            return [], problem
        uploads.append(Upload(name=name, content_type=file.content_type or "application/octet-stream", data=data))
    return uploads, None


# --- start, sign-in, registration --------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    return render(request, "home.html")


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str | None = None) -> Response:
    return render(request, "sign_in.html", next=_safe_next(next))


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request, email: Text = "", password: Text = "", next: Text = "/tickets", csrf: Csrf = None
) -> Response:
    check_csrf(request, csrf)
    _limits(request).sign_in.check(client_address(request), "email:" + email.strip().lower())
    result = portal.sign_in(_db(request), email, password, client_address=client_address(request))
    if isinstance(result, str):
        return render(
            request, "sign_in.html", 401, next=_safe_next(next), values={"email": email}, errors={"form": result}
        )
    return _signed_in(_redirect(_safe_next(next)), result)


@router.post("/sign-out")
def sign_out(request: Request, csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    if secret := request.cookies.get(SESSION_COOKIE):
        portal.sign_out(_db(request), secret)
    response = _redirect("/", "signed-out")
    clear_session(response)
    return response


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request) -> Response:
    return render(request, "register.html")


@router.post("/register", response_class=HTMLResponse)
def register(request: Request, name: Text = "", email: Text = "", phone: Text = "", csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    values = {"name": name, "email": email, "phone": phone}
    _limits(request).register.check(client_address(request), "email:" + email.strip().lower())
    try:
        portal.register(
            _db(request),
            email=email,
            name=name,
            phone=phone,
            link=_link(request, "/confirm/{token}"),
            sign_in_link=_link(request, "/sign-in"),
        )
    except Invalid as error:
        return render(request, "register.html", 422, values=values, errors=_form_error(error))
    return _check_your_mail(
        request, f"We have sent a link to {email.strip()}. Open it within 48 hours to choose your password."
    )


EXPIRED = "This link has expired or was used already. Ask for a new one."
# Behind a mailed link, a password is chosen: a new account's (confirming its address) or a forgotten one's.
PASSWORD_LINKS = {
    portal.Purpose.CONFIRM: ("Choose your password", "Create my account", portal.confirm_email, "welcome"),
    portal.Purpose.RESET: ("Choose a new password", "Set the password and sign in", portal.reset_password, "password"),
}


def _password_page(request: Request, token: str, purpose: portal.Purpose) -> Response:
    if not portal.link_is_usable(_db(request), token, purpose):
        return error_page(request, 410, EXPIRED)
    title, button, _, _ = PASSWORD_LINKS[purpose]
    return render(request, "password.html", title=title, button=button)


def _set_password(
    request: Request, token: str, purpose: portal.Purpose, password: str, again: str, csrf: str | None
) -> Response:
    check_csrf(request, csrf)
    title, button, service, notice = PASSWORD_LINKS[purpose]
    try:
        if password != again:
            raise Invalid("", {"password_again": "The two passwords differ; type the same one twice."})
        signed_in = service(_db(request), token, password)
    except Invalid as error:
        if not error.fields:  # the link itself
            return error_page(request, 410, EXPIRED)
        return render(request, "password.html", 422, title=title, button=button, errors=_form_error(error))
    return _signed_in(_redirect("/tickets", notice), signed_in)


@router.get("/confirm/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str) -> Response:
    return _password_page(request, token, portal.Purpose.CONFIRM)


@router.post("/confirm/{token}", response_class=HTMLResponse)
def confirm(
    request: Request, token: str, password: Text = "", password_again: Text = "", csrf: Csrf = None
) -> Response:
    return _set_password(request, token, portal.Purpose.CONFIRM, password, password_again, csrf)


@router.get("/forgot", response_class=HTMLResponse)
def forgot_page(request: Request) -> Response:
    return render(request, "forgot.html")


@router.post("/forgot", response_class=HTMLResponse)
def forgot(request: Request, email: Text = "", csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    _limits(request).mailed_link.check(client_address(request), "email:" + email.strip().lower())
    portal.request_password_reset(_db(request), email, link=_link(request, "/reset/{token}"))
    return _check_your_mail(
        request,
        "If an account uses that address, we have sent it a link to choose a new password. "
        "The link works for one hour.",
    )


@router.get("/reset/{token}", response_class=HTMLResponse)
def reset_page(request: Request, token: str) -> Response:
    return _password_page(request, token, portal.Purpose.RESET)


@router.post("/reset/{token}", response_class=HTMLResponse)
def reset(request: Request, token: str, password: Text = "", password_again: Text = "", csrf: Csrf = None) -> Response:
    return _set_password(request, token, portal.Purpose.RESET, password, password_again, csrf)


# --- a ticket without an account ---------------------------------------------------------------------------------


@router.get("/check", response_class=HTMLResponse)
def check_page(request: Request) -> Response:
    return render(request, "check.html")


@router.post("/check", response_class=HTMLResponse)
def check(request: Request, email: Text = "", number: Text = "", csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    _limits(request).mailed_link.check(client_address(request), "email:" + email.strip().lower())
    portal.request_ticket_link(_db(request), email, number, link=_link(request, "/link/{token}"))
    return _check_your_mail(
        request,
        "If that ticket was opened from that address, we have sent the address a link to it. "
        "The link works once, within 48 hours.",
    )


@router.get("/link/{token}", response_class=HTMLResponse)
def link_page(request: Request, token: str) -> Response:
    """A button behind the mailed link, because mail scanners open links and would use them up."""
    if not portal.link_is_usable(_db(request), token, portal.Purpose.TICKET):
        return error_page(request, 410, EXPIRED)
    return render(request, "link.html", title="Open your ticket", button="Open the ticket")


@router.post("/link/{token}")
def open_link(request: Request, token: str, csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    try:
        signed_in, ticket_id = portal.redeem_ticket_link(_db(request), token)
    except Invalid:
        return error_page(request, 410, EXPIRED)
    return _signed_in(_redirect(f"/tickets/{ticket_id}"), signed_in)


# --- tickets -----------------------------------------------------------------------------------------------------


@router.get("/tickets/new", response_class=HTMLResponse)
def new_ticket_page(request: Request) -> Response:
    return render(request, "new_ticket.html", topics=portal.public_topics(_db(request)))


@router.post("/tickets/new", response_class=HTMLResponse)
def new_ticket(
    request: Request,
    subject: Text = "",
    body: Text = "",
    topic: Text = "",
    name: Text = "",
    email: Text = "",
    phone: Text = "",
    attachments: Annotated[list[UploadFile], File()] = [],  # noqa: B006  # FastAPI copies defaults per request
    csrf: Csrf = None,
) -> Response:
    check_csrf(request, csrf)
    db, user = _db(request), _user(request)
    requester = user.email if user is not None else email.strip().lower()
    _limits(request).new_ticket.check(client_address(request), "email:" + requester)  # whose inbox gets mail
    values = {"subject": subject, "body": body, "topic": topic, "name": name, "email": email, "phone": phone}
    uploads, problem = _uploads(attachments, attachment_rules(request))
    topic_id = int(topic) if topic.isascii() and topic.isdigit() and len(topic) <= 9 else None
    try:
        if problem:
            raise Invalid(problem, {"attachments": problem})
        if user is not None and user.only_ticket_id is None:
            ticket = tickets.open_ticket(db, user, subject=subject, body=body, topic_id=topic_id, attachments=uploads)
            return _redirect(f"/tickets/{ticket.id}")
        ticket = portal.open_guest_ticket(
            db, email=email, name=name, phone=phone, subject=subject, body=body, topic_id=topic_id, attachments=uploads
        )
    except Invalid as error:
        errors = _form_error(error)
        if uploads or problem:
            errors.setdefault("attachments", "Choose the files again: a browser does not keep them after an error.")
        return render(request, "new_ticket.html", 422, topics=portal.public_topics(db), values=values, errors=errors)
    return render(
        request,
        "message.html",
        title=f"Ticket #{ticket.number} is open",
        message=f"We have received your request. Our answers go to {ticket.requester.email}; to read the ticket "
        "here, use “Check a ticket” with its number, or register with that address.",
    )


@router.get("/tickets", response_class=HTMLResponse)
def my_tickets(request: Request, closed: bool = False, after: str | None = None) -> Response:
    user = _require_user(request)
    if user.only_ticket_id is not None:
        return _redirect(f"/tickets/{user.only_ticket_id}")
    page = portal.my_tickets(_db(request), user, closed=closed, cursor=after)
    return render(request, "tickets.html", page=page, closed=closed)


def _entry_kind(entry: EntryView) -> str:
    if entry.kind == EntryKind.MESSAGE:
        return "message"
    return "reply" if entry.author_kind == ActorKind.AGENT else "system"


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket_page(request: Request, ticket_id: Id) -> Response:
    user = _require_user(request)
    return _ticket(request, user, ticket_id)


def _ticket(
    request: Request,
    user: UserActor,
    ticket_id: Id,
    status: int = 200,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> Response:
    shown = portal.user_ticket(_db(request), user, ticket_id)
    entries_shown = [(item, _entry_kind(item)) for item in shown.ticket.thread if isinstance(item, EntryView)]
    return render(
        request,
        "ticket.html",
        status,
        shown=shown,
        ticket=shown.ticket,
        entries=entries_shown,
        closed=shown.ticket.status.state != StatusState.OPEN,
        values=values or {},
        errors=errors or {},
    )


@router.post("/tickets/{ticket_id}/reply", response_class=HTMLResponse)
def reply(
    request: Request,
    ticket_id: Id,
    body: Text = "",
    attachments: Annotated[list[UploadFile], File()] = [],  # noqa: B006  # FastAPI copies defaults per request
    csrf: Csrf = None,
) -> Response:
    check_csrf(request, csrf)
    user = _require_user(request)
    db = _db(request)
    uploads, problem = _uploads(attachments, attachment_rules(request))
    try:
        if problem:
            raise Invalid(problem, {"attachments": problem})
        if not body.strip():
            raise Invalid("Write your reply first.", {"body": "Write your reply first."})
        entries.add_message(db, user, ticket_id, body, attachments=uploads)
    except Invalid as error:
        errors = _form_error(error)
        if uploads or problem:
            errors.setdefault("attachments", "Choose the files again: a browser does not keep them after an error.")
        return _ticket(request, user, ticket_id, 422, values={"body": body}, errors=errors)
    return _redirect(f"/tickets/{ticket_id}", "reply")


@router.post("/tickets/{ticket_id}/confirm")
def confirm_fix(request: Request, ticket_id: Id, csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    lifecycle.confirm_resolved(_db(request), _require_user(request), ticket_id)
    return _redirect(f"/tickets/{ticket_id}", "confirmed")


@router.post("/tickets/{ticket_id}/reopen")
def reopen(request: Request, ticket_id: Id, reason: Text = "", csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    lifecycle.reopen(_db(request), _require_user(request), ticket_id, note=reason or None)
    return _redirect(f"/tickets/{ticket_id}", "reopened")


@router.post("/tickets/{ticket_id}/rate", response_class=HTMLResponse)
def rate(request: Request, ticket_id: Id, rating: Text = "", comment: Text = "", csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    user = _require_user(request)
    try:
        if rating not in ("1", "2", "3", "4", "5"):
            raise Invalid("Choose 1 to 5 stars.", {"rating": "Choose 1 to 5 stars."})
        lifecycle.leave_feedback(_db(request), user, ticket_id, int(rating), comment)
    except Invalid as error:
        return _ticket(request, user, ticket_id, 422, values={"comment": comment}, errors=_form_error(error))
    return _redirect(f"/tickets/{ticket_id}", "rated")


@router.get("/attachments/{attachment_id}")
def attachment(request: Request, attachment_id: Id) -> Response:
    view, data = entries.attachment_content(_db(request), _require_user(request), attachment_id)
    # Always a download, never shown in place: an uploaded HTML or SVG file must not run as our page.
    disposition = f"attachment; filename*=UTF-8''{quote(view.name)}"
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": disposition, "Cache-Control": "private, no-store"},
    )


@router.get("/attachments/{attachment_id}/picture")
def picture(request: Request, attachment_id: Id) -> Response:
    """An attachment shown in place by its entry (`cid:`): only a raster picture within the size limit, under its
    own picture type; anything else is not found here (it stays a download)."""
    view, data = entries.attachment_content(_db(request), _require_user(request), attachment_id)
    media_type = picture_type(view.name, view.size) if view.content_id else None
    if media_type is None:
        raise StarletteHTTPException(404)
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})


# --- the demo --------------------------------------------------------------------------------------------------


@router.get("/demo/mailbox", response_class=HTMLResponse)
def demo_mailbox(request: Request) -> Response:
    """The demo's sent mail, so that its mailed links (confirm an address, open a ticket) can be followed when
    trying the Support Center. Only a demo database has it, and only a browser on this machine sees it: to anyone
    else, and on a real help desk, there is no such page."""
    if not from_this_machine(request):
        raise StarletteHTTPException(404)
    try:
        mail = outbound.demo_mailbox(_db(request), SystemActor())
    except Invalid:
        raise StarletteHTTPException(404) from None
    return render(request, "demo_mailbox.html", title="Demo mailbox", mail=mail)
