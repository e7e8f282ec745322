"""Unsent text kept on the agent's disk, so nothing typed is lost to a crash, a failed send or a conflict.

One JSON file per agent and ticket under `data_dir()/drafts` (ticket 0 is the new-ticket form), replaced
atomically so a crash mid-write leaves the previous draft, never half a file. Drafts are local on purpose: they
are the agent's unfinished words, not shared state, and must survive the database being unreachable.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desk import config
from desk.domain.enums import EntryKind, Recipients
from desk.domain.views import Upload

log = logging.getLogger(__name__)

NEW_TICKET = 0  # the ticket id under which the new-ticket form keeps its draft


@dataclass(frozen=True)
class Draft:
    """What the agent had typed and picked.

    Attributes:
        mode: reply or internal note.
        body: the text as typed.
        recipients: who a reply is emailed to.
        status_id: the "and set status to" choice; None keeps the status.
        attachments: paths of the files attached so far (the files stay where they are).
        time: the time spent as typed ("15", "1h 30"), read when it is sent.
        html: the rich text as the editor keeps it (its own `toHtml`), "" for plain text.
        pictures: the rich text's pasted pictures by Content-ID (PNG), which `html` shows as `cid:` images.
        extra: anything else a form needs to keep (the new-ticket form's subject, requester...), JSON-serialisable.
    """

    mode: EntryKind = EntryKind.REPLY
    body: str = ""
    recipients: Recipients = Recipients.ALL
    status_id: int | None = None
    attachments: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    time: str = ""
    html: str = ""
    pictures: Mapping[str, bytes] = field(default_factory=dict)

    def is_empty(self) -> bool:
        """Nothing worth keeping: no text, no files, nothing in `extra`."""
        return not self.body.strip() and not self.attachments and not any(self.extra.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "body": self.body,
            "recipients": self.recipients.value,
            "status_id": self.status_id,
            "attachments": list(self.attachments),
            "extra": dict(self.extra),
            "time": self.time,
            "html": self.html,
            "pictures": {name: base64.b64encode(data).decode("ascii") for name, data in self.pictures.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Draft:
        """Read a saved draft; unknown values fall back to the defaults rather than losing the text."""
        mode = data.get("mode")
        recipients = data.get("recipients")
        status_id = data.get("status_id")
        return cls(
            mode=EntryKind(mode) if mode in (EntryKind.REPLY.value, EntryKind.NOTE.value) else EntryKind.REPLY,
            body=str(data.get("body", "")),
            recipients=Recipients(recipients) if recipients in {r.value for r in Recipients} else Recipients.ALL,
            status_id=status_id if isinstance(status_id, int) else None,
            attachments=tuple(str(path) for path in data.get("attachments", ())),
            extra=dict(data.get("extra") or {}),
            time=str(data.get("time") or ""),
            html=str(data.get("html") or ""),
            pictures=_pictures(data.get("pictures")),
        )


def _pictures(data: Any) -> dict[str, bytes]:
    """The pictures of a saved draft; one that cannot be read is left out, the rest (and the text) kept."""
    pictures = {}
    for name, encoded in (data or {}).items() if isinstance(data, dict) else ():
        try:
            pictures[str(name)] = base64.b64decode(str(encoded), validate=True)
        except (binascii.Error, ValueError):
            log.warning("Ignoring an unreadable picture of a draft")
    return pictures


class DraftStore:
    """Drafts as files `<agent_id>-<ticket_id>.json` in one folder (by default `data_dir()/drafts`)."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder

    @property
    def folder(self) -> Path:
        # Resolved on use, not at construction, so DESK_DATA_DIR set later (tests, a profile switch) is honoured.
        return self._folder if self._folder is not None else config.data_dir() / "drafts"

    def path(self, agent_id: int, ticket_id: int) -> Path:
        return self.folder / f"{agent_id}-{ticket_id}.json"

    def load(self, agent_id: int, ticket_id: int) -> Draft | None:
        """The saved draft, or None if there is none or it cannot be read (logged; the file is left alone)."""
        path = self.path(agent_id, ticket_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            log.warning("Cannot read the draft %s: %s", path, error)
            return None
        if not isinstance(data, dict):
            log.warning("Ignoring the draft %s: not a JSON object", path)
            return None
        return Draft.from_json(data)

    def save(self, agent_id: int, ticket_id: int, draft: Draft) -> None:
        """Write the draft atomically (temp file, fsync, replace); an empty draft deletes the file instead."""
        if draft.is_empty():
            self.delete(agent_id, ticket_id)
            return
        config.write_json(self.path(agent_id, ticket_id), draft.to_json())

    def delete(self, agent_id: int, ticket_id: int) -> None:
        self.path(agent_id, ticket_id).unlink(missing_ok=True)


def read_uploads(paths: Sequence[Path]) -> list[Upload]:
    """The files' contents for the service call; runs in a worker thread (a big file's read must not freeze the GUI)."""
    return [
        Upload(
            name=path.name,
            content_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            data=path.read_bytes(),
        )
        for path in paths
    ]
