"""Plumbing shared by the dev tools that serve HTTP on loopback (the Stripe stand-in, the notification sink).

Each tool is a test double with no authentication of its own, so binding anything but loopback is
refused here, once, for all of them. :class:`LoopbackHTTPService` owns the server thread (tests use
the tools in-process as context managers); :func:`serve_until_signalled` is the body of their
``python -m`` entry points, whose common options :func:`service_parser` and
:func:`parse_service_args` provide.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any, ClassVar, Self

from settings import is_loopback

__all__ = [
    "LoopbackHTTPServer",
    "LoopbackHTTPService",
    "announce_listening",
    "parse_service_args",
    "require_loopback",
    "serve_until_signalled",
    "service_parser",
]


def require_loopback(host: str, label: str) -> None:
    """Raise ``ValueError`` unless ``host`` is a loopback address; ``label`` names the tool."""
    if not is_loopback(host):
        raise ValueError(f"refusing to bind {host!r}: the {label} only serves loopback")


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that binds IPv6 literals too and keeps dropped clients off stderr."""

    # Handler threads must not keep a test run or an interrupted CLI alive.
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        # The default family is IPv4, which cannot bind "::1".
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out and hang up are expected here (retry tests do it on purpose).
        logging.getLogger(type(self).__module__).debug(
            "connection error from %s", client_address, exc_info=True
        )


class LoopbackHTTPService:
    """A server on a daemon thread: start/stop, a context manager, and the bound ``port`` and ``url``.

    Subclasses set ``_label`` (used in messages) and ``_thread_name``, build their server in
    :meth:`_make_server`, and may hook :meth:`_on_start`, :meth:`_on_stop` and :meth:`_url_path`.
    """

    _label: ClassVar[str]
    _thread_name: ClassVar[str]

    def __init__(self, host: str, port: int) -> None:
        require_loopback(host, self._label)
        self._host = host
        self._requested_port = port  # 0 lets the OS pick; `port` then reports the bound one
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self, address: tuple[str, int]) -> ThreadingHTTPServer:
        raise NotImplementedError

    def _on_start(self) -> None:
        """Start helpers after the socket is bound and before the first request is served."""

    def _on_stop(self) -> None:
        """Stop helpers once no request is being served any more; runs on every stop()."""

    def _url_path(self) -> str:
        """What follows host and port in :attr:`url`."""
        return ""

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError(f"the {self._label} is already running")
        server = self._make_server((self._host, self._requested_port))
        try:
            self._on_start()
        except BaseException:
            # shutdown() would wait forever on a server whose serve_forever never ran.
            server.server_close()
            raise
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll; keep tests quick
            name=self._thread_name,
            daemon=True,
        )
        self._thread.start()
        # Logged under the subclass's module so each tool's log lines keep their logger name.
        logging.getLogger(type(self).__module__).info("%s listening on %s", self._label, self.url)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._on_stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"the {self._label} is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}{self._url_path()}"


def serve_until_signalled(service: LoopbackHTTPService, announce: Callable[[], None] | None = None) -> int:
    """Start ``service``, call ``announce`` once it listens, serve until SIGINT/SIGTERM, stop; return 0.

    A signal is the normal way to end a dev tool (``dev.stack`` sends SIGTERM), hence exit status 0.
    """
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Installed before start() so a signal that arrives while binding still ends the process cleanly.
    previous = {signum: signal.signal(signum, _on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        service.start()
        try:
            if announce is not None:
                announce()
            stop.wait()
        finally:
            service.stop()
    finally:
        # Give an in-process caller (a test calling main()) its own handlers back.
        for signum, handler in previous.items():
            if handler is not None:  # None: a handler not set from Python, which cannot be put back
                signal.signal(signum, handler)
    return 0


def announce_listening(service: LoopbackHTTPService, name: str) -> Callable[[], None]:
    """An ``announce`` for :func:`serve_until_signalled` that prints ``<name> listening on <url>``."""

    def announce() -> None:
        # Scripts wait for this exact line (and parse the URL from it) before they go on; flush, as
        # stdout is a pipe there and would otherwise hold the line back.
        sys.stdout.write(f"{name} listening on {service.url}\n")
        sys.stdout.flush()

    return announce


def service_parser(prog: str, description: str, default_port: int) -> argparse.ArgumentParser:
    """A parser with the options every loopback tool takes: ``--host``, ``--port``, ``--log-level``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=default_port, help="0 picks a free port")
    parser.add_argument("--log-level", default="WARNING")
    return parser


def parse_service_args(
    parser: argparse.ArgumentParser, argv: list[str] | None, label: str
) -> argparse.Namespace:
    """Parse ``argv``, refuse a non-loopback ``--host`` as a usage error, and apply ``--log-level``."""
    args = parser.parse_args(argv)
    try:
        require_loopback(args.host, label)
    except ValueError as exc:
        # A usage error (exit 2, message on stderr) rather than a traceback from the constructor.
        parser.error(str(exc))
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    return args
