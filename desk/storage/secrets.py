"""Secrets kept in the database (mailbox passwords; later OAuth tokens), encrypted with a key only the server holds.

Whoever reads the database (a dump, a backup, a login that leaked) gets no password from it. The key is a Fernet
key (AES-128-CBC and HMAC-SHA256, from the cryptography library) in a file that only the account running
`desk serve` and `desk worker` may read: made with mode 0600 the first time a secret is stored, at the path
`desk.config.secret_key_file` gives. A stored secret reads `desk:1:<key id>:<Fernet token>`: the format's version,
then the first 8 hex digits of the key's SHA-256, which tell a wrong key from a damaged secret and let a later
version rotate keys (encrypt with a new one, still read with the old ones).

The key is read from the file on every use, so that a key file put back from a backup works without a restart.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from desk.config import secret_key_file
from desk.domain.errors import DeskError

PREFIX = "desk:1:"


class SecretKeyProblem(DeskError):
    """The key is missing, unreadable or not the one a secret was encrypted with; the message says what to do."""


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def seal(secret: str) -> str:
    """The secret encrypted for the database, with the key made on first use."""
    plain = secret.encode()  # UnicodeEncodeError before any key is made
    fernet, key_id = _key(create=True)
    return f"{PREFIX}{key_id}:{fernet.encrypt(plain).decode()}"


def unseal(stored: str) -> str:
    """The secret that `seal` encrypted; SecretKeyProblem when this machine's key cannot decrypt it."""
    if not is_sealed(stored):
        raise SecretKeyProblem("The stored value is not encrypted (an earlier Desk, or someone by hand, wrote it).")
    key_id, _, token = stored.removeprefix(PREFIX).partition(":")
    fernet, ours = _key(create=False)
    path = secret_key_file()
    if key_id != ours:
        raise SecretKeyProblem(
            f"It was encrypted with key {key_id}, but the key file {path} holds key {ours}. Put back the key file "
            f"it was encrypted with (set DESK_SECRET_KEY_FILE, or key_file under [secrets] in the config file, to "
            "its path if it is elsewhere)."
        )
    try:
        return fernet.decrypt(token).decode()
    except InvalidToken:
        raise SecretKeyProblem("The stored value is damaged (it was changed after it was encrypted).") from None


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def _key(*, create: bool) -> tuple[Fernet, str]:
    path = secret_key_file()
    if create and not path.exists():
        _create(path)
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        raise SecretKeyProblem(
            f"The key file {path} is missing on this machine. Put back the server's key file from your backup (or "
            "set DESK_SECRET_KEY_FILE, or key_file under [secrets] in the config file, to where it is)."
        ) from None
    except OSError as error:
        raise SecretKeyProblem(
            f"The key file {path} cannot be read ({error.strerror}): run Desk as the account that owns it."
        ) from None
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise SecretKeyProblem(f"The key file {path} may be read by other accounts: run `chmod 600 {path}`.")
    try:
        return Fernet(key), _key_id(key)
    except ValueError:
        raise SecretKeyProblem(
            f"The key file {path} does not hold a Desk key (is it damaged?): put it back from your backup."
        ) from None


def _create(path: Path) -> None:
    """A new key, written whole and flushed to disk before it appears under its name (mkstemp makes the file 0600);
    when another process made one meanwhile, theirs is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret-key-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(Fernet.generate_key() + b"\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return
        if os.name == "posix":  # the new name survives a power cut as well as the secrets it encrypts
            directory = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
    finally:
        os.unlink(temporary)
