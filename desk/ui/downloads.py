"""Writing a file that came from outside (an attachment) to the agent's disk, marked as downloaded.

On Windows a downloaded file carries the Mark of the Web, a `Zone.Identifier` alternate data stream saying it
came from the Internet zone: Office then opens it in Protected View and Windows asks before running it, as for
files saved by a browser or a mail client. Other systems have no such mark.
"""

from __future__ import annotations

import os
from pathlib import Path

WINDOWS = os.name == "nt"
INTERNET_ZONE = 3
ZONE_STREAM = ":Zone.Identifier"


def write_downloaded(path: Path, data: bytes) -> None:
    """Write the file, then mark it as downloaded from the Internet (on Windows)."""
    path.write_bytes(data)
    if WINDOWS:
        _mark_of_the_web(path)


def _mark_of_the_web(path: Path) -> None:
    try:
        # The stream is written as browsers write it; "path:Zone.Identifier" names it on NTFS.
        with open(f"{path}{ZONE_STREAM}", "wb") as stream:
            stream.write(f"[ZoneTransfer]\r\nZoneId={INTERNET_ZONE}\r\n".encode("ascii"))
    except OSError:
        pass  # a volume without alternate streams (FAT, some shares) cannot carry the mark: the file is still saved
