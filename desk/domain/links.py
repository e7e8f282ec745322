"""Links whose visible text poses as another address: "https://bank.example" that really goes to evil.example.

One rule for every front end: the agent window asks before opening such a link, the Support Center shows the real
host beside it.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

# Text that reads as a host name or a mail address: an optional user, dot-separated labels ending in a top-level
# domain of letters, then an optional port and path. Text with a scheme ("https://…") is read as a URL instead.
_ADDRESS = re.compile(
    r"""^(?:mailto:)?(?:[^\s/@:]+@)?      # user, as in a mail address
    ((?:[^\W_](?:[\w-]*[^\W_])?\.)+      # host labels
    (?:[^\W\d_]{2,}|xn--[a-z0-9-]+))\.?  # top-level domain
    (?::\d+)?(?:[/?#]\S*)?$""",
    re.IGNORECASE | re.VERBOSE,
)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)


def _host(host: str) -> str:
    """A host in the form two spellings of one host share: lower case, IDNA, no trailing dot, no "www."."""
    host = host.strip().rstrip(".").lower()
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass  # not a valid IDN: compare it as it is spelt
    return host.removeprefix("www.")


def target_host(href: str) -> str:
    """The host a link really goes to: a web address's host, a mail address's domain; "" when it has none."""
    try:
        parts = urlsplit(href.strip())
        host = parts.hostname
    except ValueError:  # a bracketed host that is no IPv6 address
        return ""
    if parts.scheme.lower() == "mailto":
        return _host(unquote(parts.path).rpartition("@")[2])
    return _host(host or "")


def _shown_host(text: str) -> str | None:
    if _URL.match(text):
        try:
            host = urlsplit(text).hostname
        except ValueError:  # a bracketed host that is no IPv6 address
            return None
        return _host(host) if host else None
    match = _ADDRESS.match(text)
    return _host(match.group(1)) if match else None


def disguised_target(text: str, href: str) -> str | None:
    """The real host when a link's visible text reads as an address or host name other than where it goes.

    Returns None when the text is not an address (e.g. "our status page") or names the same host as the link.
    """
    shown = _shown_host(" ".join(text.split()))
    if shown is None:
        return None
    real = target_host(href)
    if shown == real:
        return None
    return real or href.strip()
