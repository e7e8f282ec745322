"""Mail rules with no I/O: our signed Message-IDs, the ticket tag in subjects, automatic mail, quoted history."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
from collections.abc import Iterable, Mapping

# The line our outgoing mail starts with; everything a reply quotes below it is history, not the new message.
REPLY_SEPARATOR = "-- Reply above this line --"
# A header our outgoing mail carries: seen on incoming mail, it is our own mail come back (a loop).
LOOP_HEADER = "X-Desk-Loop"

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_OURS = re.compile(r"^<t(\d+)\.([0-9a-z]+)\.([0-9a-f]{16})@[^<>\s]+>$")
_TAG = re.compile(r"\[#([A-Za-z0-9-]{1,20})\]")


def _signature(secret: str, ticket_id: int, token: str) -> str:
    return hmac.new(secret.encode(), f"{ticket_id}.{token}".encode(), hashlib.sha256).hexdigest()[:16]


def make_message_id(secret: str, ticket_id: int, token: str, domain: str) -> str:
    """A Message-ID for a mail about a ticket that only we can make: a reply to it threads without guessing."""
    return f"<t{ticket_id}.{token}.{_signature(secret, ticket_id, token)}@{domain}>"


def signed_ticket_id(secret: str, message_id: str) -> int | None:
    """The ticket a Message-ID of ours names, or None when it is not ours (or was forged)."""
    match = _OURS.match(message_id.strip())
    if match is None:
        return None
    ticket_id, token, signature = int(match[1]), match[2], match[3]
    return ticket_id if hmac.compare_digest(signature, _signature(secret, ticket_id, token)) else None


def message_ids(header: str | None) -> list[str]:
    """The Message-IDs in an In-Reply-To or References header, in order, without duplicates."""
    return list(dict.fromkeys(_MESSAGE_ID.findall(header or "")))


def subject_numbers(subject: str) -> list[str]:
    """The ticket numbers tagged in a subject as "[#123456]", in order, once each: ours, or another help desk's
    (the caller picks the one that names a ticket of ours)."""
    return list(dict.fromkeys(_TAG.findall(subject)))


def tag_subject(subject: str, number: str) -> str:
    """The subject with our ticket tag once, at its end, and no other "[#…]" tag: a foreign one (another help
    desk's, or one a user typed) would otherwise be read first by the next reply and open another ticket."""
    untagged = " ".join(_TAG.sub(" ", subject).split())
    return f"{untagged} [#{number}]" if untagged else f"[#{number}]"


def sender_authenticated(results: Iterable[str], server: str, address: str) -> bool:
    """Whether the receiving mail server named `server` found the mail authentic for the sender's domain, by its
    Authentication-Results headers (RFC 8601): DMARC passed for the domain, or DKIM or SPF passed for the domain
    or a parent of it. Headers naming another server never count: anyone can write them into the mail they send.
    """
    import authres  # only the intake of incoming mail reads these headers: the window never loads the parser

    domain = address.rpartition("@")[2].lower()

    def aligned(name: str) -> bool:
        owner = name.rpartition("@")[2].lower().rstrip(".")
        return bool(owner) and (domain == owner or domain.endswith("." + owner))

    for value in results:
        try:
            header = authres.AuthenticationResultsHeader.parse_value(" ".join(value.split()))
        except authres.AuthResError:
            continue
        if not server or str(header.authserv_id).lower() != server.lower():
            continue
        for result in header.results:
            if str(result.result).lower() != "pass":
                continue
            method = str(result.method).lower()
            for prop in result.properties:
                value = str(prop.value).lower()
                if f"{prop.type}.{prop.name}".lower() not in _VOUCHING.get(method, ()):
                    continue
                if value == domain if method == "dmarc" else aligned(value):  # DMARC judged the From domain itself
                    return True
    return False


# The property of each method's result that names the domain it vouches for (RFC 8601 section 2.7, RFC 7489).
_VOUCHING = {
    "dmarc": ("header.from",),
    "dkim": ("header.d", "header.i"),
    "spf": ("smtp.mailfrom",),
}


_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-auto-reply")
_BULK = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
_DAEMONS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.IGNORECASE)


def automatic_reason(headers: Mapping[str, str], sender: str | None, domains: Iterable[str] = ()) -> str | None:
    """Why a message must never be answered: "auto-reply", "bounce", "loop" (then it is not posted either), or
    one of POSTED_QUIETLY.

    `headers` maps lower-cased header names to values; `domains` are our own (a loop header naming one of them is
    our own mail come back).
    """
    loop = headers.get(LOOP_HEADER.lower())
    if loop is not None and (not domains or loop.strip().lower() in {d.lower() for d in domains}):
        return "loop"
    if "x-failed-recipients" in headers or (sender and _DAEMONS.match(sender)):
        return "bounce"
    if headers.get("return-path", "x").strip() in ("<>", ""):
        return "bounce"
    if "report-type=delivery-status" in headers.get("content-type", "").lower().replace(" ", ""):
        return "bounce"
    auto = headers.get("auto-submitted", "no").strip().lower()
    if auto and not auto.startswith("no"):
        return "auto-reply"
    if any(name in headers for name in _AUTO_HEADERS):
        return "auto-reply"
    if headers.get("precedence", "").strip().lower() in _BULK or "list-id" in headers:
        return "bulk"
    suppress = headers.get("x-auto-response-suppress", "").lower()
    if any(word in suppress for word in ("all", "oof", "autoreply")):
        return "no auto-reply wanted"
    return None


# Automatic reasons whose mail is still posted (a Google Group in front of the support address marks every
# customer's mail as list mail): only the automatic answers are held back.
POSTED_QUIETLY = frozenset({"bulk", "no auto-reply wanted"})


# Outlook's quoted history, in the languages of Europe: the rule line it starts with, and the header block's
# "From:" label and the labels of its "Sent:" line (any of them right below the "From:" line).
OUTLOOK_HISTORY = {
    "English": ("Original Message", "From", ("Sent", "Date")),
    "German": ("Ursprüngliche Nachricht", "Von", ("Gesendet", "Datum")),
    "Swedish": ("Ursprungligt meddelande", "Från", ("Skickat", "Datum")),
    "Dutch": ("Oorspronkelijk bericht", "Van", ("Verzonden", "Datum")),
    "French": ("Message d'origine", "De", ("Envoyé", "Date")),
    "Spanish": ("Mensaje original", "De", ("Enviado el", "Enviado", "Fecha")),
    "Italian": ("Messaggio originale", "Da", ("Inviato", "Data")),
    "Portuguese": ("Mensagem original", "De", ("Enviada", "Enviado", "Data")),
    "Polish": ("Wiadomość oryginalna", "Od", ("Wysłano", "Data")),
    "Danish": ("Oprindelig meddelelse", "Fra", ("Sendt", "Dato")),
    "Norwegian": ("Opprinnelig melding", "Fra", ("Sendt", "Dato")),
    "Finnish": ("Alkuperäinen viesti", "Lähettäjä", ("Lähetetty", "Päivämäärä")),
    "Czech": ("Původní zpráva", "Od", ("Odesláno", "Datum")),
}


def _labels(labels: Iterable[str]) -> str:
    return "|".join(sorted({re.escape(label) for label in labels}, key=len, reverse=True))


# A header line as Outlook writes it: "From: …", "*From:* …" (plain text of HTML bold), "De : …" (French).
_OUTLOOK_FROM = re.compile(rf"^\s*\*?({_labels(v[1] for v in OUTLOOK_HISTORY.values())})\s*:\*?\s.+$", re.I)
_OUTLOOK_SENT = re.compile(rf"^\s*\*?({_labels(s for v in OUTLOOK_HISTORY.values() for s in v[2])})\s*:", re.I)

# Lines that start the quoted history in the common clients; the first one found ends the new text.
_HISTORY = (
    re.compile(rf"^\s*{re.escape(REPLY_SEPARATOR)}\s*$", re.IGNORECASE),
    re.compile(rf"^\s*-{{2,}}\s*({_labels(v[0] for v in OUTLOOK_HISTORY.values())})\s*-{{2,}}\s*$", re.I),
    re.compile(r"^_{20,}\s*$"),  # Outlook on the web's rule above "From: … Sent: …"
)
_WROTE = (
    re.compile(r"^\s*On .{4,200}wrote:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Am .{4,200}schrieb .{1,200}:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Le .{4,200}a écrit\s*:\s*$", re.IGNORECASE | re.DOTALL),
)


_FORWARD = re.compile(r"^\s*(-{5,}\s*Forwarded [Mm]essage\s*-{5,}|Begin forwarded message:)\s*$")


def strip_quoted(text: str) -> str:
    """The new part of a reply: the text above the quoted history (our separator, "On … wrote:", Outlook's block).

    A forwarded message is the new part: nothing below its marker is cut. A reply that is all quote keeps its
    text rather than becoming empty.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    cut = len(lines)
    for index, line in enumerate(lines):
        if _FORWARD.match(line):
            break
        if _starts_history(lines, index, line):
            cut = index
            break
    kept = lines[:cut]
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith(">")):
        kept.pop()  # trailing quote lines and blank lines left above the history
    new = "\n".join(kept).strip()
    return new or text.strip()


def _starts_history(lines: list[str], index: int, line: str) -> bool:
    if _OUTLOOK_FROM.match(line):  # "From:" only counts in a header block: its "Sent:" line right below it
        block = itertools.takewhile(str.strip, lines[index + 1 : index + 4])
        return any(_OUTLOOK_SENT.match(following) for following in block)
    if any(pattern.match(line) for pattern in (*_WROTE, *_HISTORY)):
        return True
    # A "On … wrote:" line that the client wrapped in two.
    return (
        index + 1 < len(lines)
        and bool(re.match(r"^\s*On .{4,200}$", line))
        and lines[index + 1].rstrip().endswith("wrote:")
    )
