"""Lists written to CSV files a page at a time (the audit log, a queue or search): UTF-8 with a byte-order mark,
which Excel on Windows needs to read it as UTF-8, nothing held whole in memory, and no half file left behind."""

from __future__ import annotations

import csv
import os
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path


class Cancelled(Exception):
    """The export was stopped by the person who asked for it."""


async def write_csv(
    path: str | Path,
    header: Sequence[str],
    pages: AsyncIterator[Sequence[Sequence[str]]],
    keep_going: Callable[[int], bool] = lambda _written: True,
) -> int:
    """Write the header and every page's rows; how many rows. Written beside `path` first and moved there once
    whole: stopped (`keep_going(rows written)` false: Cancelled) or failed, `path` is left as it was."""
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    written = 0
    try:
        with partial.open("w", encoding="utf-8-sig", newline="") as file:
            out = csv.writer(file)
            out.writerow(header)
            async for rows in pages:
                out.writerows(rows)
                written += len(rows)
                if not keep_going(written):
                    raise Cancelled
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return written
