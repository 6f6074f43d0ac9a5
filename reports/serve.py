"""Serve the published sites on this machine for a quick look (`ce-compliance serve`)."""

from __future__ import annotations

import functools
import html
import http
import http.server
import io
import os
import pathlib
import urllib.parse


class _SitesHandler(http.server.SimpleHTTPRequestHandler):
    """Files of the output folder without its hidden entries (`.staging-*` of a run that is publishing or
    died publishing, `.work`): not listed, and not found when asked for."""

    def send_head(self):
        parts = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).split("/")
        if any(part.startswith(".") for part in parts if part):
            self.send_error(http.HTTPStatus.NOT_FOUND, "File not found")
            return None
        return super().send_head()

    def list_directory(self, path):
        names = sorted(name for name in os.listdir(path) if not name.startswith("."))
        links = "".join(
            f'<li><a href="{urllib.parse.quote(name)}{"/" if os.path.isdir(os.path.join(path, name)) else ""}">{html.escape(name)}</a></li>'
            for name in names
        )
        body = f"<!DOCTYPE html><html><body><ul>{links}</ul></body></html>".encode()
        self.send_response(http.HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


def make_server(output_dir: pathlib.Path, host: str = "127.0.0.1", port: int = 8000) -> http.server.ThreadingHTTPServer:
    """An HTTP server for `output_dir` (port 0: any free port); call `serve_forever()` on it."""
    handler = functools.partial(_SitesHandler, directory=str(output_dir))
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
