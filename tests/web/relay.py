"""A TCP relay in its own process, between `desk serve` and its database: cutting it takes the database away from a
running server (every connection through it closes, new ones are refused), as a stopped database server does.

    python -m tests.web.relay LISTEN_PORT TARGET_HOST TARGET_PORT

A process rather than threads: Python threads in a Qt test may collect a QObject off the GUI thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

from tests.mail.dovecot import free_ports


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def _serve(port: int, host: str, target: int) -> None:
    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pump(reader, upstream_writer), _pump(upstream_reader, writer))

    server = await asyncio.start_server(relay, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


@dataclass
class Relay:
    port: int
    process: subprocess.Popen[bytes]

    def cut(self) -> None:
        """Stop relaying: the connections through it close, and nothing answers on its port any more."""
        self.process.kill()
        self.process.wait(timeout=10)


@contextlib.contextmanager
def relay(host: str, port: int) -> Iterator[Relay]:
    """A relay to host:port on a free loopback port, until the block ends (or `cut()`)."""
    (listen,) = free_ports(1)
    process = subprocess.Popen([sys.executable, "-m", "tests.web.relay", str(listen), host, str(port)])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the relay did not start") from None
                time.sleep(0.05)
        yield Relay(listen, process)
    finally:
        process.kill()
        process.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
