"""Asking the directory over LDAP (ldap3): find the account, bind as it with the password, read which of the mapped
groups it is in. Imported only when a sign-in asks a directory (ldap3 takes longer to import, 0.3-0.7 s, than the
rest of a sign-in)."""

from __future__ import annotations

import contextlib
import logging
import re
import ssl
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, Literal
from urllib.parse import urlsplit

from ldap3 import BASE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException, LDAPStartTLSError
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from desk.domain.hosts import is_loopback
from desk.services.directory import PLACEHOLDER, Account, Answer, DirectorySettings, Outcome

log = logging.getLogger(__name__)

# The result codes a directory answers with (RFC 4511 §4.1.9) that Desk tells apart.
_SUCCESS, _SIZE_LIMIT, _NO_SUCH_OBJECT, _INVALID_CREDENTIALS = 0, 4, 32, 49
_UNTRUSTED = re.compile(r"CERTIFICATE_VERIFY_FAILED\] certificate verify failed: ([^(]+?) \(")


class _Unavailable(Exception):
    """The directory cannot answer the question as configured; the message says why."""


def check_password(settings: DirectorySettings, username: str, password: str) -> Answer:
    """Ask the directory whether `password` is `username`'s password; never raises for what the directory does."""
    if not username or len(username) > 256 or not username.isprintable():
        return Answer(Outcome.UNKNOWN)  # no directory has such a name
    if not password:
        # An empty password makes a simple bind "unauthenticated", which directories answer with success
        # (RFC 4513 §5.1.2): it must never reach one.
        return Answer(Outcome.WRONG_PASSWORD)
    try:
        with _connection(settings) as connection:
            return _ask(connection, settings, username, password)
    except (_Unavailable, LDAPException) as error:
        problem = _explain(settings, error)
        log.warning("Directory sign-in of %r: %s", username, problem)
        return Answer(Outcome.UNAVAILABLE, problem=problem)


def _ask(connection: Connection, settings: DirectorySettings, username: str, password: str) -> Answer:
    if settings.user_dn is not None:
        if not _bind(connection, _fill(settings.user_dn, username=escape_rdn(username)), password):
            return Answer(Outcome.WRONG_PASSWORD)
        account = _find(connection, settings, username)
        if account is None:
            raise _Unavailable(
                f"accepts the password, but searching {settings.search_filter} under {settings.search_base} "
                "does not find that one account: check search_base and search_filter"
            )
    else:
        if settings.bind_dn is not None and not _bind(connection, settings.bind_dn, settings.bind_password):
            raise _Unavailable(f"refuses Desk's service account {settings.bind_dn}: check bind_dn and bind_password")
        account = _find(connection, settings, username)
        if account is None:
            return Answer(Outcome.UNKNOWN)
        if not _bind(connection, account.dn, password):
            return Answer(Outcome.WRONG_PASSWORD, account)
    # Read as the account itself: it may read its own groups under the default rules of AD and OpenLDAP.
    values = {"dn": escape_filter_chars(account.dn), "username": escape_filter_chars(account.username or "")}
    query = _fill(settings.group_filter, **values)
    groups = tuple(group for group, _ in settings.groups if _search(connection, group, query, BASE, ()))
    return Answer(Outcome.ACCEPTED, replace(account, groups=groups))


@contextlib.contextmanager
def _connection(settings: DirectorySettings) -> Iterator[Connection]:
    """An open, encrypted, not yet bound connection; referrals are not followed (ldap3 would send them the
    credentials)."""
    host = urlsplit(settings.url).hostname
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file, sni=host)
    server = Server(settings.url, tls=tls, connect_timeout=settings.timeout, get_info=NONE)
    connection = Connection(
        server, raise_exceptions=False, receive_timeout=settings.timeout, auto_referrals=False, read_only=True
    )
    try:
        connection.open(read_server_info=False)
        if settings.start_tls:
            connection.start_tls(read_server_info=False)
        if not (server.ssl or connection.tls_started or is_loopback(host or "")):  # `load` refuses it already
            raise _Unavailable("is not reached over TLS")
        yield connection
    finally:
        with contextlib.suppress(LDAPException, OSError):
            connection.unbind()


def _bind(connection: Connection, dn: str, password: str | None) -> bool:
    """Whether the directory accepts the password for `dn` (the connection is then bound as it)."""
    if connection.rebind(user=dn, password=password, read_server_info=False):
        return True
    if connection.result["result"] == _INVALID_CREDENTIALS:  # AD says why (expired, locked…) in the message
        return False
    raise _Unavailable(f"refuses to check a password: {_result(connection)}")


def _find(connection: Connection, settings: DirectorySettings, username: str) -> Account | None:
    """The one entry the search filter finds for `username` (escaped), else None."""
    query = _fill(settings.search_filter, username=escape_filter_chars(username))
    attributes = (settings.username_attribute, settings.mail_attribute, settings.name_attribute)
    entries = _search(connection, settings.search_base, query, SUBTREE, attributes, must_exist=True)
    if len(entries) != 1:
        if entries:
            log.warning("Directory sign-in: %s finds more than one entry; refused", query)
        return None
    entry = entries[0]
    return Account(
        dn=entry["dn"],
        username=_value(entry, settings.username_attribute),
        mail=_value(entry, settings.mail_attribute),
        name=_value(entry, settings.name_attribute),
    )


def _search(
    connection: Connection,
    base: str,
    query: str,
    scope: Literal["BASE", "SUBTREE"],
    attributes: tuple[str, ...],
    *,
    must_exist: bool = False,
) -> list[dict[str, Any]]:
    """The entries found (at most 2: more than one account is refused anyway); a missing base is no entry unless
    `must_exist` (a group deleted from the directory gives no access, a missing search base is a mistake)."""
    connection.search(base, query, search_scope=scope, attributes=list(attributes) or None, size_limit=2)
    code = connection.result["result"]
    if code not in (_SUCCESS, _SIZE_LIMIT) and (must_exist or code != _NO_SUCH_OBJECT):
        raise _Unavailable(f"refuses to search {query} under {base}: {_result(connection)}")
    # Search references (AD's other partitions) are not entries, and are not followed.
    return [entry for entry in connection.response or () if entry.get("type") == "searchResEntry"]


def _value(entry: dict[str, Any], attribute: str) -> str | None:
    """An attribute's (first) value as text; None when the entry has none."""
    value = entry["attributes"].get(attribute)
    if isinstance(value, list):
        value = value[0] if value else None
    text = str(value).strip() if value is not None else ""
    return text or None


def _fill(template: str, **values: str) -> str:
    """The template with {username} / {dn} replaced in one pass (a value containing "{dn}" stays as it is)."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)


def _result(connection: Connection) -> str:
    result = connection.result
    return " ".join(str(part) for part in (result.get("description"), result.get("message")) if part)


def _explain(settings: DirectorySettings, error: Exception) -> str:
    """What went wrong, for the person signing in and the log: where, and what to check."""
    text = str(error)
    where = f"the directory server at {settings.url}"
    if isinstance(error, _Unavailable):
        return f"{where} {text}"
    # ldap3 reports TLS failures in the text of the error it raises for any failure to connect.
    if untrusted := _UNTRUSTED.search(text):
        reason = untrusted.group(1)
        return f"{where} shows a certificate Desk does not trust ({reason}): set ca_file to its CA's certificate"
    if "doesn't match any name" in text:
        return f"{where} shows a certificate that is not for {urlsplit(settings.url).hostname}"
    if isinstance(error, LDAPStartTLSError):
        return f"{where} does not start TLS ({text})"
    return f"{where} does not answer ({text})"
