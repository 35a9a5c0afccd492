"""The HTTP front door on 127.0.0.1: parses requests (keeping header order, case and repeats,
which the proxy event reports) and hands them to the application callable."""

from __future__ import annotations

import errno
import socket
import threading
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.events import HttpRequest, HttpResponse
from local.gateway import REQUEST_LIMIT_BYTES
from local.net import PortTaken, port_in_use

Application = Callable[[HttpRequest], HttpResponse]
HOST = "127.0.0.1"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway offers
    server_version = "lendbridge-local"
    sys_version = ""
    # Buffered: the status line, headers and body leave in one send when the handler flushes
    # after each request. Unbuffered, the body's separate small send waited ~40 ms for the
    # client's delayed ACK (Nagle) on every kept-alive request.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True  # a body larger than the buffer still never waits for an ACK
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, a made-up one) goes to the gateway too, which answers
        # it as API Gateway does (no such route); the base class would answer 501 by itself.
        if name.startswith("do_") and name[3:].isalpha():
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: object) -> None:
        """Silenced: the gateway logs each request with its outcome and request id."""

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
            host=(self.headers.get("Host") or HOST).split(":")[0],
            port=self.server.server_address[1],
        )
        try:
            response = self.server.application(request)
        except Exception:  # noqa: BLE001 - a bug here must not kill the connection thread silently
            traceback.print_exc()
            response = HttpResponse(
                500, [("Content-Type", "application/json")], b'{"message": "Internal server error"}'
            )
        self._write(response)

    def _read_body(self) -> bytes | None:
        """The body, at most one byte over the gateway's limit (enough for it to refuse it).
        Anything unread makes the connection unusable, so it is then closed after the reply."""
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            self.send_error(400, "Invalid Content-Length")
            return None
        if length > REQUEST_LIMIT_BYTES:
            self.close_connection = True
        return self.rfile.read(min(length, REQUEST_LIMIT_BYTES + 1))

    def _read_chunked(self) -> bytes | None:
        body = bytearray()
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                self.send_error(400, "Invalid chunk size")
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(body)
            if len(body) + size > REQUEST_LIMIT_BYTES:
                self.close_connection = True
                return bytes(body) + b"\0" * (REQUEST_LIMIT_BYTES + 1 - len(body))
            body += self.rfile.read(size)
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _write(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        skip = {"content-length", "transfer-encoding", "connection", "date", "server"}
        for name, value in response.headers:
            if name.lower() not in skip:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and response.status not in (204, 304):
            self.wfile.write(response.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default listen backlog is 5: a burst of connections overflowed it, and the
    # kernel dropped them or left them to retry their SYN a second later. The kernel caps this
    # at net.core.somaxconn.
    request_queue_size = socket.SOMAXCONN

    def __init__(self, port: int, application: Application) -> None:
        self.application = application
        super().__init__((HOST, port), _Handler)


class HttpServer:
    """Serves ``application`` on 127.0.0.1:``port`` from a background thread."""

    def __init__(self, port: int, application: Application) -> None:
        self.port = port
        self._application = application
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> HttpServer:
        if port_in_use(self.port):
            raise PortTaken("the API", self.port, "PORT")
        try:
            self._server = _Server(self.port, self._application)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            raise PortTaken("the API", self.port, "PORT") from error
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
