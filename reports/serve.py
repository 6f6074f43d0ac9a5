"""Serve the published sites on this machine for a quick look (`ce-compliance serve`)."""

from __future__ import annotations

import functools
import http.server
import pathlib


def make_server(output_dir: pathlib.Path, host: str = "127.0.0.1", port: int = 8000) -> http.server.ThreadingHTTPServer:
    """An HTTP server for `output_dir` (port 0: any free port); call `serve_forever()` on it."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(output_dir))
    return http.server.ThreadingHTTPServer((host, port), handler)


def serve(output_dir: pathlib.Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve `output_dir` until interrupted, after printing the address of the latest overview."""
    with make_server(output_dir, host, port) as server:
        bound_host, bound_port = server.server_address[:2]
        print(f"Serving {output_dir} at http://{bound_host}:{bound_port}/latest/index.html (Ctrl+C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
