"""`desk serve` as a real process on a free loopback port, for the tests that need the server itself."""

from __future__ import annotations

import contextlib
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.mail.dovecot import free_ports


@contextlib.contextmanager
def desk_serve(
    database_url: str,
    log_path: Path,
    *options: str,
    https: ssl.SSLContext | None = None,
    desk: Sequence[str] = (sys.executable, "-m", "desk"),
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """Start `desk serve` with `options` (by the `desk` command given: the AppImage's, say) on `port` (else a free
    one), wait until it answers, yield its address; stop it afterwards."""
    port = port or free_ports(1)[0]
    url = f"{'https' if https else 'http'}://127.0.0.1:{port}"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*desk, "--url", database_url, "serve", "--port", str(port), *options],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(url + "/", timeout=1, context=https).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError(log_path.read_text()) from None
                    time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)
