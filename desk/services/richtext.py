"""The one policy for HTML from outside (mail, the Support Center, the API, the agent window): an allow-list.

What survives shows formatting and links and can make no reader load anything by itself: no image maps, no
`background`, `style` or `cite`, links only to absolute web and mail addresses, and pictures only as
`<img src="cid:…">`: a part of the same mail or entry, by its Content-ID (RFC 2392). A Qt text document reads
any other image source as a file name (on Windows `//host/share/x.png` reaches out over SMB), and a browser
fetches it, so no other source is kept. A reader shows a `cid:` picture only through `resolve_pictures`, which
points each one at the entry's own stored attachment (or drops it): the thread view serves those from memory,
the Support Center from the attachment's download address.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from html import escape
from html.parser import HTMLParser
from urllib.parse import unquote

import nh3

from desk.domain.attachments import content_id
from desk.domain.links import disguised_target

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
PICTURE_SCHEME = "cid"
TAGS = frozenset(nh3.ALLOWED_TAGS - {"area", "map"})
# nh3's default attributes for those tags, less every attribute that names an address other than a link's target
# or a picture's Content-ID; a picture keeps only its source and words (its size is the reader's to choose).
ATTRIBUTES = {
    tag: set(names) - {"cite"} for tag, names in nh3.ALLOWED_ATTRIBUTES.items() if tag in TAGS and names - {"cite"}
} | {"img": {"src", "alt"}}
_EMPTY_PICTURE = re.compile(r"<img>")  # a picture left with neither source nor words (nh3 writes tags one way)


def _picture_id(value: str) -> str | None:
    """The Content-ID a `cid:` source names, None for any other source."""
    scheme, colon, rest = value.strip().partition(":")
    return content_id(unquote(rest)) if colon and scheme.lower() == PICTURE_SCHEME else None


def _allowed_address(_tag: str, attribute: str, value: str) -> str | None:
    """Keep a link only when it names its scheme (a relative one would resolve against the reader's own site), and
    a picture only when it names a Content-ID."""
    if attribute == "src":
        found = _picture_id(value)
        return f"{PICTURE_SCHEME}:{found}" if found else None
    if attribute != "href":
        return value
    scheme, colon, _rest = value.strip().partition(":")
    return value if colon and scheme.lower() in LINK_SCHEMES else None


@lru_cache(maxsize=256)  # an open ticket's thread is read again after every change to it; mails can be big
def sanitize_html(markup: str | None) -> str | None:
    """HTML made safe to store and show; None when nothing readable is left."""
    if not markup or not markup.strip():
        return None
    cleaned = _clean(markup, _allowed_address)
    return cleaned if cleaned.strip() else None


def resolve_pictures(markup: str, source: Callable[[str], str | None]) -> str:
    """HTML from `sanitize_html` with each `cid:` picture pointed where `source` says for its Content-ID (the
    reader's address of the entry's stored attachment), or left with no source when `source` gives None.

    The same policy again, with only the pictures' sources changed: nothing else can come in this way.
    """

    def point(tag: str, attribute: str, value: str) -> str | None:
        if attribute != "src":
            return _allowed_address(tag, attribute, value)
        found = _picture_id(value)
        return source(found) if found else None

    return _clean(markup, point)


def _clean(markup: str, attribute_filter: Callable[[str, str, str], str | None]) -> str:
    cleaned = nh3.clean(
        markup,
        tags=set(TAGS),
        attributes=ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes=set(LINK_SCHEMES | {PICTURE_SCHEME}),
    )
    return _EMPTY_PICTURE.sub("", cleaned)


class _LinkTexts(HTMLParser):
    """Where each link of sanitised HTML ends, with its target and visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[tuple[int, int], str, str]] = []  # (line, column) of "</a>", href, text
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self.getpos(), self._href, "".join(self._text)))
            self._href = None


def show_link_targets(markup: str) -> str:
    """HTML from `sanitize_html` with the real host written beside every link whose text poses as another address.

    For pages that cannot ask before a link opens (the Support Center has no script): "https://bank.example
    (goes to evil.example)" where the link's text says bank.example but it goes to evil.example.
    """
    parser = _LinkTexts()
    parser.feed(markup)
    parser.close()
    line_starts = [0] + [index + 1 for index, char in enumerate(markup) if char == "\n"]  # as the parser counts
    out: list[str] = []
    done = 0
    for (line, column), href, text in parser.links:
        real = disguised_target(text, href)
        if real is None:
            continue
        end = line_starts[line - 1] + column + len("</a>")
        out += [markup[done:end], f' <span class="link-target">(goes to {escape(real)})</span>']
        done = end
    out.append(markup[done:])
    return "".join(out)
