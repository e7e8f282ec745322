"""A raw message read into what intake needs, with the standard library's email package, leniently.

Malformed mail is the norm: undeclared 8-bit headers, unknown charsets, broken multipart boundaries, bad base64.
Whatever can be recovered is; only a message with no usable sender address is refused (`Unparseable`), since a
ticket needs someone to answer.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.header import decode_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr

from desk.domain import mailthread
from desk.domain.views import Upload
from desk.services.richtext import sanitize_html


class Unparseable(Exception):
    """The message cannot become a ticket entry; the reason says why, for the quarantine list."""


@dataclass(frozen=True)
class Skipped:
    name: str
    size: int


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    sender: str  # lower-cased address
    sender_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text: str  # the new text, quoted history stripped
    html: str | None  # sanitised, remote content removed
    attachments: tuple[Upload, ...]
    skipped: tuple[Skipped, ...] = field(default=())  # attachments over the size limit, named in the entry
    automatic: str | None = None  # why no one must answer it (desk.domain.mailthread.automatic_reason)


def message_id_of(raw: bytes) -> str:
    """The message's Message-ID, or one made from its bytes when it has none (the same mail gets the same one)."""
    return _message_id(BytesHeaderParser(policy=policy.compat32).parsebytes(raw), raw)


def _message_id(headers: Message, raw: bytes) -> str:
    found = mailthread.message_ids(_header_text(headers, "Message-ID"))
    if found and len(found[0]) <= 255 and found[0].isprintable():  # no control bytes: every engine stores it
        return found[0]
    return f"<sha256.{hashlib.sha256(raw).hexdigest()}@desk.invalid>"


def parse(raw: bytes, *, max_attachment: int, our_domains: tuple[str, ...] = ()) -> ParsedMail:
    message = message_from_bytes(raw, policy=policy.default)
    legacy = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)  # headers policy.default refuses to parse
    sender_name, sender = _sender(legacy)
    if not sender:
        raise Unparseable("The message has no sender address (From) to answer.")
    headers = {name.lower(): _header_text(legacy, name) for name in legacy}
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[Upload] = []
    skipped: list[Skipped] = []
    _walk(message, texts, htmls, attachments, skipped, max_attachment)
    body_html = sanitize_html("\n".join(htmls)) if htmls else None
    text = "\n\n".join(t for t in texts if t.strip())
    if not text.strip() and body_html:
        text = html_to_text(body_html)
    return ParsedMail(
        message_id=_message_id(legacy, raw),
        sender=sender,
        sender_name=_clean(sender_name),
        to=_addresses(legacy, "To"),
        cc=_addresses(legacy, "Cc"),
        subject=_clean(" ".join(_header_text(legacy, "Subject").split())) or "(no subject)",
        in_reply_to=tuple(mailthread.message_ids(_header_text(legacy, "In-Reply-To"))),
        references=tuple(mailthread.message_ids(_header_text(legacy, "References"))),
        text=_clean(mailthread.strip_quoted(text)),
        html=_clean(body_html) if body_html else None,
        attachments=tuple(attachments),
        skipped=tuple(skipped),
        automatic=mailthread.automatic_reason(headers, sender, our_domains),
    )


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(text: str) -> str:
    """Text without control characters: PostgreSQL refuses NUL in text, and none of them means anything here."""
    return _CONTROL.sub("", text)


def _header_text(message: Message, name: str) -> str:
    """A header decoded to text (RFC 2047 words; undeclared 8-bit bytes read as UTF-8, else Windows-1252)."""
    value = message.get(name)
    if value is None:
        return ""
    try:
        parts = []
        for chunk, charset in decode_header(value):  # a Header (8-bit bytes kept as unknown-8bit) or a str
            if isinstance(chunk, bytes):
                parts.append(_decode(chunk, charset))
            else:
                parts.append(chunk)
        return "".join(parts).strip()
    except (LookupError, ValueError, UnicodeError):
        return str(value).strip()


def _decode(data: bytes, charset: str | None) -> str:
    for candidate in (charset, "utf-8", "windows-1252"):
        if not candidate or candidate.lower() in ("unknown-8bit", "x-unknown"):
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def _sender(message: Message) -> tuple[str, str]:
    for header in ("From", "Sender", "Reply-To"):
        name, address = parseaddr(_header_text(message, header))
        if "@" in address:
            return name.strip(), address.strip().lower()
    return "", ""


def _addresses(message: Message, header: str) -> tuple[str, ...]:
    values = [_header_text(message, header)]
    return tuple(address.lower() for _name, address in getaddresses(values) if "@" in address)


def _walk(
    part: Message,
    texts: list[str],
    htmls: list[str],
    attachments: list[Upload],
    skipped: list[Skipped],
    limit: int,
) -> None:
    content_type = part.get_content_type()
    if part.is_multipart() and content_type != "message/rfc822":  # a forwarded mail is kept whole, as a file
        subparts = [sub for sub in part.get_payload() if isinstance(sub, Message)]
        if part.get_content_subtype() == "alternative":
            # One version of the body: the first plain text and the last (richest) HTML; anything else walked.
            plain = [sub for sub in subparts if sub.get_content_type() == "text/plain"][:1]
            rich = [sub for sub in subparts if sub.get_content_type() == "text/html"][-1:]
            texts.extend(_text_of(sub) for sub in plain)
            htmls.extend(_text_of(sub) for sub in rich)
            subparts = [sub for sub in subparts if sub.get_content_type() not in ("text/plain", "text/html")]
        for sub in subparts:
            _walk(sub, texts, htmls, attachments, skipped, limit)
        return
    filename = _filename(part)
    if content_type in ("text/plain", "text/html") and part.get_content_disposition() != "attachment" and not filename:
        (texts if content_type == "text/plain" else htmls).append(_text_of(part))
    else:
        _attach(part, filename, attachments, skipped, limit)


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except (ValueError, LookupError):
        name = ""
    if not name and part.get("Content-ID") and part.get_content_maintype() == "image":
        cid = str(part.get("Content-ID")).strip("<> ")
        name = f"{cid.split('@')[0] or 'image'}.{part.get_content_subtype()}"
    return name.replace("/", "_").replace("\\", "_").strip()


def _attach(part: Message, filename: str, attachments: list[Upload], skipped: list[Skipped], limit: int) -> None:
    data: bytes
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        forwarded = inner[0] if isinstance(inner, list) and inner and isinstance(inner[0], Message) else None
        data = forwarded.as_bytes() if forwarded is not None else part.as_bytes()
        filename = filename or "forwarded message.eml"
    else:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
    name = filename or f"attachment.{part.get_content_subtype()}"
    if len(data) > limit:
        skipped.append(Skipped(name=name, size=len(data)))
        return
    attachments.append(Upload(name=name, data=data, content_type=part.get_content_type()))


def _text_of(part: Message) -> str:
    data = part.get_payload(decode=True)
    text = _decode(data, part.get_content_charset()) if isinstance(data, bytes) else str(part.get_payload())
    if part.get_content_type() == "text/plain" and str(part.get_param("format", "")).lower() == "flowed":
        return unflow(text, delsp=str(part.get_param("delsp", "")).lower() == "yes")
    return text


def unflow(text: str, *, delsp: bool = False) -> str:
    """format=flowed text (RFC 3676) as its paragraphs: a line ending in a space continues on the next one."""
    lines: list[str] = []
    joining = False
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
        if joining:
            lines[-1] += line
        else:
            lines.append(line)
        joining = line.endswith(" ") and line != "-- "  # the signature separator never flows
        if joining and delsp:
            lines[-1] = lines[-1][:-1]
    return "\n".join(lines)


_BLOCK_END = re.compile(r"</(p|div|li|tr|h[1-6]|blockquote)>|<br\s*/?>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


def html_to_text(markup: str) -> str:
    """A plain-text version of HTML-only mail, for the thread's text, search and quoting."""
    text = _TAGS.sub("", _BLOCK_END.sub("\n", markup))
    lines = [" ".join(html.unescape(line).split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
