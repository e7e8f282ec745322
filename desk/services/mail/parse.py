"""A raw message read into what intake needs, with the standard library's email package, leniently.

Malformed mail is the norm: undeclared 8-bit headers, unknown charsets, broken multipart boundaries, bad base64.
Whatever can be recovered is; only a message with no usable sender address is refused (`Unparseable`), since a
ticket needs someone to answer.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import html
import re
from collections.abc import Collection
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses

import charset_normalizer

from desk.domain import mailthread
from desk.domain.attachments import AttachmentRules, content_id, safe_name
from desk.domain.inputs import NAME_LENGTH, one_line
from desk.domain.views import Upload
from desk.services.richtext import sanitize_html


class Unparseable(Exception):
    """The message cannot become a ticket entry; the reason says why, for the quarantine list."""


@dataclass(frozen=True)
class Skipped:
    """An attachment not kept: over the size limit, or (`wrong_type`) of a type the settings do not accept."""

    name: str
    size: int
    wrong_type: bool = False


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
    skipped: tuple[Skipped, ...] = field(default=())  # attachments too big or of types not accepted, named in the entry
    automatic: str | None = None  # why no one must answer it (desk.domain.mailthread.automatic_reason)
    authentication: tuple[str, ...] = ()  # the Authentication-Results headers, as they came (RFC 8601)

    @property
    def conversation(self) -> frozenset[str]:
        return _conversation(self.message_id, self.sender, self.in_reply_to, self.references)


def conversation_of(raw: bytes) -> frozenset[str]:
    """What ties a message to others of its conversation, from its headers alone (see `ParsedMail.conversation`)."""
    headers = read_headers(raw[:65536])
    return _conversation(
        _message_id(headers, raw),
        sender_of(headers)[1],
        mailthread.message_ids(header_text(headers, "In-Reply-To")),
        mailthread.message_ids(header_text(headers, "References")),
    )


def _conversation(message_id: str, sender: str, in_reply_to: Seq[str], references: Seq[str]) -> frozenset[str]:
    """Its Message-ID, the ones it answers and its sender: two messages that share any of them may belong to one
    conversation, so they are threaded in the order they arrived (more than one conversation shares a sender:
    that costs order where none was needed, never the reverse)."""
    return frozenset({message_id, *in_reply_to, *references, *([sender] if sender else [])})


def message_id_of(raw: bytes) -> str:
    """The message's Message-ID, or one made from its bytes when it has none (the same mail gets the same one)."""
    return _message_id(read_headers(raw), raw)


def read_headers(raw: bytes) -> Message:
    """Only the headers, as policy.default reads them (address headers structurally); the body is left unread."""
    return BytesHeaderParser(policy=policy.default).parsebytes(raw)


def _message_id(headers: Message, raw: bytes) -> str:
    found = mailthread.message_ids(header_text(headers, "Message-ID"))
    if found and len(found[0]) <= 255 and found[0].isprintable():  # no control bytes: every engine stores it
        return found[0]
    return f"<sha256.{hashlib.sha256(raw).hexdigest()}@desk.invalid>"


def parse(
    raw: bytes, *, max_attachment: int, attachment_types: Collection[str] = (), our_domains: tuple[str, ...] = ()
) -> ParsedMail:
    """The message read; attachments over `max_attachment` bytes or of types not in `attachment_types` (when it
    lists any) are skipped, not kept."""
    message = message_from_bytes(raw, policy=policy.default)
    sender_name, sender = sender_of(message)
    if not sender:
        raise Unparseable("The message has no usable sender address (From) to answer.")
    headers = {name.lower(): header_text(message, name) for name in message}
    bodies: list[_Body] = []
    attachments: list[Upload] = []
    skipped: list[Skipped] = []
    _walk(message, bodies, attachments, skipped, AttachmentRules(max_attachment, tuple(attachment_types)))
    text, body_html = _join(bodies)
    return ParsedMail(
        message_id=_message_id(message, raw),
        sender=sender,
        sender_name=one_line(sender_name)[:NAME_LENGTH],  # a header's words, whatever they decoded to
        to=addresses_of(message, "To"),
        cc=addresses_of(message, "Cc"),
        subject=_clean(" ".join(header_text(message, "Subject").split())) or "(no subject)",
        in_reply_to=tuple(mailthread.message_ids(header_text(message, "In-Reply-To"))),
        references=tuple(mailthread.message_ids(header_text(message, "References"))),
        text=_clean(mailthread.strip_quoted(text)),
        html=_clean(body_html) if body_html else None,
        attachments=tuple(attachments),
        skipped=tuple(skipped),
        automatic=mailthread.automatic_reason(headers, sender, our_domains),
        authentication=tuple(_raw_headers(message, "Authentication-Results")),
    )


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(text: str) -> str:
    """Text without control characters: PostgreSQL refuses NUL in text, and none of them means anything here."""
    return _CONTROL.sub("", text)


# --- headers --------------------------------------------------------------------------------------------------


def _raw_headers(message: Message, name: str) -> list[str]:
    """A header's values as they came (undeclared 8-bit bytes surrogate-escaped), before any decoding."""
    return [str(value) for key, value in message.raw_items() if key.lower() == name.lower()]


def header_text(message: Message, name: str) -> str:
    """A header's first value decoded to text (see `decode_words`); "" when there is none."""
    values = _raw_headers(message, name)
    return decode_words(values[0]) if values else ""


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def decode_words(raw: str) -> str:
    """A header value as RFC 2047 says: encoded words decoded, the whitespace between two encoded words dropped and
    all other text kept as it is ("Re: TEST =?utf-8?…?=" keeps its space). Adjacent words in one charset are
    decoded together (clients split a character across two); undeclared 8-bit bytes are guessed (`decode_bytes`).
    """
    text = _FOLD.sub("", raw)
    out: list[str] = []
    word: tuple[str, bytearray] | None = None  # encoded words seen but not yet decoded: their charset and bytes
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        between = text[position : match.start()]
        charset, data = match[1].split("*")[0].lower(), _word_bytes(match[2], match[3])  # charset*language
        if data is None:  # not a well-formed word: kept as the text it is
            continue
        if word is None or between.strip(" \t") or word[0] != charset:
            if word is not None:
                out.append(decode_bytes(bytes(word[1]), word[0]))
            if word is None or between.strip(" \t"):
                out.append(_plain(between))
            word = (charset, bytearray())
        word[1].extend(data)
        position = match.end()
    if word is not None:
        out.append(decode_bytes(bytes(word[1]), word[0]))
    out.append(_plain(text[position:]))
    return "".join(out).strip()


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    try:
        if encoding.lower() == "q":
            return binascii.a2b_qp(payload.encode("ascii"), header=True)
        return base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
    except (ValueError, UnicodeError):
        return None


def _plain(text: str) -> str:
    """Header text outside encoded words: undeclared 8-bit bytes (surrogate-escaped by the parser) are guessed."""
    if not any("\udc80" <= char <= "\udcff" for char in text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"), None)


# --- charsets ---------------------------------------------------------------------------------------------------

# What mail programs that declare these charsets really write: the common superset (as web browsers read them).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",  # ks_c_5601-1987 too
    "iso8859-1": "cp1252",
    "ascii": "cp1252",  # 8-bit bytes in "us-ascii" mail: after UTF-8, Windows' Latin
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "shift_jis": "cp932",
    "euc_jp": "euc_jis_2004",
    "iso2022_jp": "iso2022_jp_ext",
    "big5": "big5hkscs",
}
# Names Python does not know: the visual/logical Hebrew and Arabic variants, Microsoft's Korean name.
_ALIASES = {"ks_c_5601": "cp949", "x-sjis": "cp932", "x-gbk": "gb18030", "unicode-1-1-utf-7": "utf-7"}
_BIDI_SUFFIX = re.compile(r"^(iso-?8859-[68])-[ie]$")


def _canonical(charset: str | None) -> str | None:
    """Python's name for a declared charset; None when undeclared or unknown."""
    if not charset:
        return None
    name = _BIDI_SUFFIX.sub(r"\1", charset.strip().strip('"').lower())
    try:
        return codecs.lookup(_ALIASES.get(name, name)).name
    except LookupError:
        return None


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text in its declared charset, read as its superset; a part that fails it, or declares none, is tried as
    UTF-8, then as the charset its bytes look like; only then decoded with replacement characters."""
    canonical = _canonical(charset)
    declared = _SUPERSETS.get(canonical, canonical) if canonical else None
    # 8-bit bytes in "us-ascii" mail are mostly UTF-8 mislabelled, else Windows' Latin.
    order = ["utf-8", declared] if canonical == "ascii" else [declared, "utf-8"]
    for candidate in order:
        if candidate is not None:
            try:
                return data.decode(candidate)
            except UnicodeDecodeError:
                continue
    guess = charset_normalizer.from_bytes(data).best()
    if guess is not None:
        return str(guess)
    return data.decode(declared or "utf-8", errors="replace")


# --- addresses --------------------------------------------------------------------------------------------------

_USABLE = re.compile(r"^[^@\s\"<>(),;:\\\[\]]+@[^@\s\"<>(),;:\\\[\]]+\.[^@\s\"<>(),;:\\\[\]]+$")


def sender_of(message: Message) -> tuple[str, str]:
    """The sender's name and lower-cased address: the first usable address of From (else Sender, else Reply-To)."""
    for header in ("From", "Sender", "Reply-To"):
        for name, address in _usable(message, header):
            return name, address
    return "", ""


def addresses_of(message: Message, header: str) -> tuple[str, ...]:
    return tuple(address for _name, address in _usable(message, header))


def _usable(message: Message, header: str) -> list[tuple[str, str]]:
    """The addresses of an address header that mail can be sent to, read from the raw header's structure.

    An address must appear in the raw header as it is: an encoded word is text for people, so one inside an
    address ("=?utf-8?Q?john=40desk.example=3E?=@attacker.example") never decodes into another address. A
    local part of several words with no angle brackets ("Big Bug bb@bug.com") is a name the sender forgot to
    quote followed by the address.
    """
    values = _raw_headers(message, header)
    raw = " ".join(values).lower()
    found: list[tuple[str, str]] = []
    for name, local, domain in _address_parts(message, header, values):
        words = local.split()
        if len(words) > 1 and "<" not in raw:
            name, local = " ".join([name, *words[:-1]]).strip(), words[-1]
        address = f"{local}@{domain}".lower()
        if _USABLE.match(address) and address.isprintable() and address in raw and len(address) <= 254:
            found.append((_plain(name).strip(), address))
    return found


def _address_parts(message: Message, header: str, values: list[str]) -> list[tuple[str, str, str]]:
    """(display name, local part, domain) of each address, as policy.default reads the header; where it gives up
    on the header as a whole, as the older parser splits the raw text (encoded words left as they are)."""
    try:
        return [(a.display_name, a.username, a.domain) for a in getattr(message[header], "addresses", ())]
    except Exception:  # a crash of the email package on one odd group or address: the header read piece by piece
        split = [(name, address.rpartition("@")) for name, address in getaddresses(values)]
        return [(decode_words(name), local, domain) for name, (local, _at, domain) in split]


@dataclass(frozen=True)
class _Body:
    """One inline part of the body, or one multipart/alternative: its plain text, its HTML, or both."""

    text: str | None
    html: str | None


def _walk(
    part: Message, bodies: list[_Body], attachments: list[Upload], skipped: list[Skipped], rules: AttachmentRules
) -> None:
    content_type = part.get_content_type()
    if part.is_multipart() and content_type != "message/rfc822":  # a forwarded mail is kept whole, as a file
        subparts = [sub for sub in part.get_payload() if isinstance(sub, Message)]
        if part.get_content_subtype() == "alternative":
            # One version of the body: the first plain text and the last (richest) HTML, which may come with its
            # pictures (multipart/related: the HTML first, then the parts it shows); anything else walked.
            plain = [_text_of(sub) for sub in subparts if sub.get_content_type() == "text/plain"][:1]
            versions = [(sub, html_part) for sub in subparts if (html_part := _html_of(sub)) is not None]
            rich = [_text_of(html_part) for _sub, html_part in versions[-1:]]
            if plain or rich:
                bodies.append(_Body(plain[0] if plain else None, rich[0] if rich else None))
            pictures = [picture for sub, _html in versions[-1:] for picture in _parts(sub)[1:]]
            others = [sub for sub in subparts if sub.get_content_type() != "text/plain" and _html_of(sub) is None]
            subparts = pictures + others
        for sub in subparts:
            _walk(sub, bodies, attachments, skipped, rules)
        return
    filename = _filename(part)
    if content_type in ("text/plain", "text/html") and part.get_content_disposition() != "attachment" and not filename:
        text = _text_of(part)
        bodies.append(_Body(text, None) if content_type == "text/plain" else _Body(None, text))
    else:
        _attach(part, filename, attachments, skipped, rules)


def _parts(part: Message) -> list[Message]:
    payload = part.get_payload() if part.is_multipart() else []
    return [sub for sub in payload if isinstance(sub, Message)]


def _html_of(part: Message) -> Message | None:
    """The HTML of an alternative: a text/html part, or the first part of a multipart/related that starts with one
    (the rest being the pictures it shows)."""
    if part.get_content_type() == "text/html":
        return part
    if part.get_content_type() == "multipart/related":
        inner = _parts(part)
        return inner[0] if inner and inner[0].get_content_type() == "text/html" else None
    return None


def _join(bodies: list[_Body]) -> tuple[str, str | None]:
    """The text and the HTML body: every inline part in order in both (an HTML part as text in the text body, a
    plain part escaped in the HTML one); no HTML body when no part has HTML."""
    texts = [
        body.text if body.text and body.text.strip() else html_to_text(sanitize_html(body.html or "") or "")
        for body in bodies
    ]
    text = "\n\n".join(t.lstrip("\r\n").rstrip() for t in texts if t.strip())
    if not any(body.html for body in bodies):
        return text, None
    htmls = [body.html if body.html else f"<pre>{html.escape(body.text or '')}</pre>" for body in bodies]
    return text, sanitize_html("\n".join(htmls))


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except (ValueError, LookupError):
        name = ""
    if not name and part.get("Content-ID") and part.get_content_maintype() == "image":
        cid = str(part.get("Content-ID")).strip("<> ")
        name = f"{cid.split('@')[0] or 'image'}.{part.get_content_subtype()}"
    return name.replace("/", "_").replace("\\", "_").strip()


def _attach(
    part: Message, filename: str, attachments: list[Upload], skipped: list[Skipped], rules: AttachmentRules
) -> None:
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
    stored = safe_name(name, part.get_content_type())  # judged and named as the services would store it
    if not rules.allows_type(stored):
        skipped.append(Skipped(name=stored, size=len(data), wrong_type=True))
        return
    if len(data) > rules.max_bytes:
        skipped.append(Skipped(name=name, size=len(data)))
        return
    cid = content_id(str(part.get("Content-ID", "")))
    attachments.append(Upload(name=name, data=data, content_type=part.get_content_type(), content_id=cid))


def _text_of(part: Message) -> str:
    data = part.get_payload(decode=True)
    text = decode_bytes(data, part.get_content_charset()) if isinstance(data, bytes) else str(part.get_payload())
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
