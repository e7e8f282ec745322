"""Attachment names and types: what a file from a stranger may be called, and which ones may be opened.

A name is made safe once, where a file enters Desk (`safe_name`), and again wherever a stored name leaves it
(the thread, a download, a saved or opened file, an outgoing mail), so names stored before this rule are safe too.
Opening hands the file to the operating system, which picks a program by the name's last extension; only types
whose usual programs show the file without running code are opened (`may_open`), everything else is only saved.
Which types may be attached at all is the administrator's list (`AttachmentRules`), judged by that same extension
wherever a file enters Desk.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

from desk.domain.inputs import BREAKS

# Extension -> content type of the files the system may open: pictures, PDF, plain text, office formats without
# macros. An allow-list: a type nobody listed (.svg and .html run scripts, .docm and .xlsm macros) is only saved.
OPENABLE: dict[str, str] = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "webp": "image/webp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "pdf": "application/pdf",
    "txt": "text/plain",
    "log": "text/plain",
    "csv": "text/csv",
    "rtf": "application/rtf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
}
DEFAULT_NAME = "attachment"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Bytes of UTF-8 a name may take: ext4 and NTFS allow 255 per name; the rest leaves room for " (2)" and the like.
MAX_NAME_BYTES = 200
_MAX_EXTENSION = 32  # a longer "extension" is part of the name, not a type (".settingcontent-ms" has 17)
# Names Windows keeps for devices, with or without an extension ("con.txt" opens the console).
_RESERVED = re.compile(r"(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|(COM|LPT)[0-9¹²³])", re.IGNORECASE)
_FORBIDDEN = re.compile(r'[<>:"|?*]')  # besides / and \ (folders) Windows refuses these in names
_SPACES = re.compile(r"\s+")
_TOKEN = r"[a-z0-9!#$&^_.+-]+"
_CONTENT_TYPE = re.compile(rf"({_TOKEN})/({_TOKEN})")


def safe_name(name: str, content_type: str = "") -> str:
    """A file name every system stores as shown, that says what it is.

    No folders (a sender may write "../../x" or "C:\\x"), no control or invisible formatting characters (a
    right-to-left override shows "invoice[U+202E]fdp.exe" as "invoiceexe.pdf"), no characters or device names
    Windows refuses, no trailing dots or spaces (Windows drops them: "invoice.exe." is a program), at most
    MAX_NAME_BYTES keeping the extension, in NFC. A name with nothing left is "attachment", with the extension of
    the content type when it is a known safe one.
    """
    text = unicodedata.normalize("NFC", "".join(_clean_char(char) for char in name))
    parts = [part for part in re.split(r"[/\\]", text) if part.strip(" .")]
    text = _FORBIDDEN.sub("_", _SPACES.sub(" ", parts[-1] if parts else "")).strip(" ").rstrip(" .")
    stem, dot, extension = text.rpartition(".")
    if not dot or len(extension) > _MAX_EXTENSION:
        stem, extension = text, ""
    stem = stem.lstrip(" .")  # no hidden file, no ".." in a name
    if not stem:
        known = [ext for ext, type_ in OPENABLE.items() if type_ == safe_content_type(content_type)]
        extension = extension or (known[0] if known else "")
        stem = DEFAULT_NAME
    elif _RESERVED.fullmatch(stem.partition(".")[0].rstrip(" ")):
        stem = "_" + stem
    suffix = f".{extension}" if extension else ""
    return _cut(stem, MAX_NAME_BYTES - len(suffix.encode())).rstrip(" .") + suffix


def _clean_char(char: str) -> str:
    """A space for line breaks and control characters, nothing for invisible formatting (bidi marks, zero widths)."""
    category = unicodedata.category(char)
    if category == "Cf":
        return ""
    return " " if category in BREAKS else char


def _cut(text: str, max_bytes: int) -> str:
    encoded = text.encode()
    return text if len(encoded) <= max_bytes else encoded[:max_bytes].decode(errors="ignore")


def extension(name: str) -> str:
    """The extension of the safe form of a name, lower case, without the dot: what the system opens it by."""
    _stem, dot, ext = safe_name(name).rpartition(".")
    return ext.lower() if dot else ""


def may_open(name: str) -> bool:
    """Whether a file of this name may be handed to the system to open (else it is only saved)."""
    return extension(name) in OPENABLE


# Pictures shown in place (a mail's `cid:` picture, a reply's pasted one): raster types every reader decodes
# without running anything (no SVG), and at most this big, in bytes and in pixels, to be decoded at all.
PICTURES = frozenset({"png", "jpg", "jpeg", "gif", "webp"})
PICTURE_MAX_BYTES = 5 * 1024 * 1024
PICTURE_MAX_PIXELS = 25_000_000
CONTENT_ID_LENGTH = 255


def picture_type(name: str, size: int) -> str | None:
    """The content type to show a file of this name and size in place by, None when it is not shown in place."""
    ext = extension(name)
    return OPENABLE[ext] if ext in PICTURES and size <= PICTURE_MAX_BYTES else None


def content_id(value: str) -> str | None:
    """A Content-ID as stored and matched: "<a@b>" from a header and "a@b" from a `cid:` address (its %-escapes
    decoded first) are both "a@b"; None when nothing usable is left."""
    found = value.strip().removeprefix("<").removesuffix(">").strip()
    return found if found and len(found) <= CONTENT_ID_LENGTH and found.isprintable() else None


def why_not_open(name: str) -> str | None:
    """Why a file is only saved, in words for the agent; None when it may be opened."""
    if may_open(name):
        return None
    ext = extension(name)
    kind = f"“.{ext}” files" if ext else "Files without a known type"
    return f"{kind} can run code, so Desk only saves them.\nDesk opens pictures, PDFs, plain text and office documents."


def safe_content_type(content_type: str) -> str:
    """A plain `type/subtype` (no parameters, no line breaks); `multipart/*` or anything unreadable is
    `application/octet-stream`: one file never claims to be a body of several parts (a forwarded mail is one)."""
    match = _CONTENT_TYPE.fullmatch(content_type.split(";")[0].strip().lower())
    if match is None or match.group(1) == "multipart":
        return DEFAULT_CONTENT_TYPE
    return match.group(0)[:127]


@dataclass(frozen=True)
class AttachmentRules:
    """What a file must be to enter Desk: at most `max_bytes`, and of a type the administrator listed.

    The types are extensions as `extension` reads them (lower case, no dot); none listed means any type.
    """

    max_bytes: int
    types: tuple[str, ...] = ()

    def allows_type(self, name: str) -> bool:
        return type_allowed(name, self.types)

    def type_problem(self, name: str) -> str | None:
        return type_problem(name, self.types)


MAX_TYPES = 200  # more than anyone lists: a longer list is pasted by mistake
_TYPE_SEPARATORS = re.compile(r"[\s,;]+")


def split_types(text: str) -> tuple[str, ...]:
    """The types in an administrator's line ("pdf, .PNG; *.docx"), each once, in the order given (`normal_type`)."""
    return tuple(dict.fromkeys(normal_type(word) for word in _TYPE_SEPARATORS.split(text) if word))


def normal_type(text: str) -> str:
    """A type as it is compared: lower case, in NFC, without a leading "*." or "."."""
    return unicodedata.normalize("NFC", text).lower().removeprefix("*").removeprefix(".")


def is_type(text: str) -> bool:
    """Whether a listed type (`normal_type`) can match a file: one word that `extension` reads from a name ending
    in it (so not "tar.gz", whose files end in "gz", nor "exe." or "p<f", which no stored name ends in)."""
    return bool(text) and not _TYPE_SEPARATORS.search(text) and extension(f"x.{text}") == text


def type_allowed(name: str, types: Collection[str]) -> bool:
    """Whether a file of this name may be attached: its safe name's extension is listed (nothing listed: any).

    The extension is the last one of the name as it will be stored, so "x.pdf.exe" and "x.exe." are programs and
    "README" has no type (and is refused by any list).
    """
    if not types:
        return True
    found = extension(name)
    return bool(found) and found in types


def type_problem(name: str, types: Collection[str]) -> str | None:
    """Why a file of this name cannot be attached, naming the types that can; None when it can."""
    if type_allowed(name, types):
        return None
    return f"“{safe_name(name)}” cannot be attached: Desk accepts only these file types: {types_text(types)}."


def types_text(types: Collection[str]) -> str:
    """The listed types as people read them: "pdf, png, docx"; "any type" when none are listed."""
    return ", ".join(types) if types else "any type"
