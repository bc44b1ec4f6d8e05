"""A TCP server that accepts connections and never answers: a stalled broker or dependency."""

from __future__ import annotations

import socket
import threading


class StalledServer:
    """Accepts on 127.0.0.1 (a kernel-chosen port), counts connections, never sends a byte."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def accepted(self) -> int:
        return len(self._held)

    def __enter__(self) -> StalledServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._listener.close()
        self._thread.join(timeout=5)
        for connection in self._held:
            connection.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _address = self._listener.accept()
            except OSError:  # the listener was closed: stop
                return
            self._held.append(connection)
