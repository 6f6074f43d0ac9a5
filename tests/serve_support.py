"""The real server (uvicorn, as `ce-compliance serve` configures it) on 127.0.0.1 in a thread, for the tests."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import uvicorn

from reports.serve import server_config


@contextlib.contextmanager
def running(app) -> Iterator[str]:
    """Serve `app` on a free port of 127.0.0.1 for the block; yields its base URL."""
    server = uvicorn.Server(server_config(app, "127.0.0.1", 0))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
