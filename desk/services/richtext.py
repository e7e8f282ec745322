"""The one policy for HTML from outside (mail, the Support Center, the API, the agent window): an allow-list.

What survives shows formatting and links and can make no reader load anything: no images or image maps, no
`src`, `background`, `style` or `cite`, and links only to absolute web and mail addresses. A Qt text document
reads any image source as a file name (on Windows `//host/share/x.png` reaches out over SMB), so even an
image of our own is not kept: Desk composes its own icons around the stored HTML, never inside it.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from html.parser import HTMLParser

import nh3

from desk.domain.links import disguised_target

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
TAGS = frozenset(nh3.ALLOWED_TAGS - {"img", "area", "map"})
# nh3's default attributes for those tags, less every attribute that names an address other than a link's target.
ATTRIBUTES = {
    tag: set(names) - {"cite"} for tag, names in nh3.ALLOWED_ATTRIBUTES.items() if tag in TAGS and names - {"cite"}
}


def _absolute_link(_tag: str, attribute: str, value: str) -> str | None:
    """Keep a link only when it names its scheme: a relative one would resolve against the reader's own site."""
    if attribute != "href":
        return value
    scheme, colon, _rest = value.strip().partition(":")
    return value if colon and scheme.lower() in LINK_SCHEMES else None


@lru_cache(maxsize=256)  # an open ticket's thread is read again after every change to it; mails can be big
def sanitize_html(markup: str | None) -> str | None:
    """HTML made safe to store and show; None when nothing readable is left."""
    if not markup or not markup.strip():
        return None
    cleaned = nh3.clean(
        markup,
        tags=set(TAGS),
        attributes=ATTRIBUTES,
        attribute_filter=_absolute_link,
        url_schemes=set(LINK_SCHEMES),
    )
    return cleaned if cleaned.strip() else None


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
