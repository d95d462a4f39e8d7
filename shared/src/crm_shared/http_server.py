"""uvicorn's httptools protocol, writing a connection's bytes once per turn of the event loop.

uvicorn writes an answer's status line and headers when the app sends `http.response.start`,
then its body when the app sends it: two `send` system calls per answer, each handing the
segment to the peer at once (TCP_NODELAY). Under 64 concurrent connections those writes were
the largest part of a GET by id's time in the service (22% of the process's running samples in
a py-spy profile, more than the store's read). Here the connection's transport keeps what is
written during a turn of the loop and writes it with one call at the turn's end: headers and
body, sent in the same turn by every plain response, leave in one segment.

What waits is bounded (KEPT_BYTES: more is written at once) and never outlives the turn; a
close writes what is kept first, an abort drops it as the transport's own buffer is dropped.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Kept for the turn's end at most: a stream's parts beyond it are written as they come.
KEPT_BYTES = 64 * 1024


class TurnWrites:
    """A transport wrapper that writes a turn's data with one call to the transport."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._kept: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Keep the data for the end of the loop's turn (or write it, with what is kept)."""
        if not self._kept:
            self._loop.call_soon(self.flush)
        self._kept.append(bytes(data))
        self._size += len(data)
        if self._size >= KEPT_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write what is kept, in one call."""
        if not self._kept:
            return
        data = self._kept[0] if len(self._kept) == 1 else b"".join(self._kept)
        self._kept, self._size = [], 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        """Write what is kept, then close (the transport writes its own buffer out first)."""
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Drop what is kept and the connection."""
        self._kept, self._size = [], 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        # Everything else (is_closing, pause_reading, get_extra_info...) is the transport's.
        return getattr(self._transport, name)


class TurnWritesHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a transport that writes once per loop turn."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Wrap the connection's transport, then set up as uvicorn does."""
        wrapped: Any = TurnWrites(transport, asyncio.get_running_loop())
        super().connection_made(wrapped)


def http_protocol(parser: str) -> type[asyncio.Protocol] | str:
    """What uvicorn's `http` is for CRM_HTTP_PARSER: httptools writing once per turn, or h11."""
    return TurnWritesHttpToolsProtocol if parser == "httptools" else parser
