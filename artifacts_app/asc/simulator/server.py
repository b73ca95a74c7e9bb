"""Serve the simulator on a loopback port, in a background thread (tests) or the foreground."""

from __future__ import annotations

import io
import logging
import re
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import fields
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server

from .app import SimulatorApp, SimulatorConfig
from .dataset import Dataset
from .faults import Faults
from .stats import Stats
from .webhooks import WebhookSender, run_clock

logger = logging.getLogger(__name__)

DATASET_OPTIONS = {
    "seed",
    "runs",
    "products",
    "days",
    "now",
    "hostile_names",
    "size_scale",
    "live_runs",
}
FAULT_OPTIONS = {f.name for f in fields(Faults)}
CONFIG_OPTIONS = {f.name for f in fields(SimulatorConfig)} - {"faults"}


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("simulator: connection from %s ended abruptly", client_address)


class _Discard(io.StringIO):
    def write(self, text: str) -> int:
        return len(text)


class QuietRequestHandler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive; hands the socket to the app (to simulate resets); quiet stderr."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, delayed ACKs add 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        self.close_connection = True
        self._handle_one()
        while not self.close_connection:
            self._handle_one()

    def _handle_one(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            self.close_connection = True
            return
        if not self.parse_request():
            return
        environ = self.get_environ()
        handler = ServerHandler(
            self.rfile, self.wfile, self.get_stderr(), environ, multithread=True
        )
        handler.http_version = "1.1"
        handler.request_handler = self
        handler.run(self.server.get_app())
        # A body cut short (or a dropped connection) must end the connection too.
        if environ["simulator.state"].get("close"):
            self.close_connection = True

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ["simulator.connection"] = self.connection
        environ["simulator.state"] = {}  # shared with the app's copy of the environ
        return environ

    def get_stderr(self) -> io.StringIO:
        return _Discard()

    def log_message(self, format: str, *args: Any) -> None:
        # Leave query strings (download signatures) out of the log.
        logger.debug("simulator: %s", re.sub(r"\?\S*", "", format % args))


class SimulatorServer:
    """A running simulator: ``base_url``, ``dataset``, ``config``, ``stats``, ``stop()``."""

    def __init__(
        self, dataset: Dataset, config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0
    ):
        self.app = SimulatorApp(dataset, config)
        self.httpd = make_server(
            host,
            port,
            self.app,
            server_class=ThreadingWSGIServer,
            handler_class=QuietRequestHandler,
        )
        wildcard = host in ("", "0.0.0.0", "::")  # noqa: S104 - only to print a usable address
        shown_host = "127.0.0.1" if wildcard else host
        self.base_url = f"http://{shown_host}:{self.httpd.server_port}"
        self._thread: threading.Thread | None = None

    @property
    def dataset(self) -> Dataset:
        return self.app.dataset

    @property
    def config(self) -> SimulatorConfig:
        return self.app.config

    @property
    def faults(self) -> Faults:
        return self.app.config.faults

    @property
    def stats(self) -> Stats:
        return self.app.stats

    def reset_budget(self) -> None:
        """Start a fresh rolling hour: the whole budget is available again."""
        self.app.reset_budget()

    def start(self) -> SimulatorServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="asc-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> SimulatorServer:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def build(
    host: str = "127.0.0.1", port: int = 0, dataset: Dataset | None = None, **options: Any
) -> SimulatorServer:
    """Make a server (not yet serving) from flat options: dataset, config and fault knobs."""
    unknown = set(options) - DATASET_OPTIONS - FAULT_OPTIONS - CONFIG_OPTIONS
    if unknown:
        raise TypeError(f"unknown simulator options: {sorted(unknown)}")
    if dataset is None:
        dataset = Dataset(**{k: v for k, v in options.items() if k in DATASET_OPTIONS})
    fault_options = {k: v for k, v in options.items() if k in FAULT_OPTIONS}
    fault_options.setdefault("seed", options.get("seed", 0))
    config = SimulatorConfig(
        faults=Faults(**fault_options),
        **{k: v for k, v in options.items() if k in CONFIG_OPTIONS},
    )
    return SimulatorServer(dataset, config, host, port)


def run_in_thread(host: str = "127.0.0.1", port: int = 0, **options: Any) -> SimulatorServer:
    """Start a simulator in a background thread; call ``.stop()`` when done."""
    return build(host, port, **options).start()


def serve(
    host: str = "127.0.0.1",
    port: int = 8001,
    speed: float = 1.0,
    announce: Callable[[str], None] = print,
    webhook_url: str = "",
    **options: Any,
) -> None:
    """Serve in the foreground until SIGTERM or Ctrl-C (the asc_simulator command).

    ``speed`` is how many simulated seconds pass per real second, so a long-running demo sees
    runs finish and new ones appear; 0 freezes the clock. With ``webhook_url``, each run the
    clock creates, starts or completes is delivered there as Xcode Cloud's webhook would.
    """
    server = build(host, port, **options)
    stopping = threading.Event()
    sender = WebhookSender(server.dataset, webhook_url) if webhook_url else None
    advance = sender.advance if sender else server.dataset.advance

    def stop(*_args: Any) -> None:
        stopping.set()
        threading.Thread(target=server.httpd.shutdown, daemon=True).start()

    if speed > 0:
        threading.Thread(
            target=run_clock,
            args=(advance, speed, stopping),
            name="asc-simulator-clock",
            daemon=True,
        ).start()
    previous = signal.signal(signal.SIGTERM, stop)
    dataset = server.dataset
    announce(
        f"App Store Connect simulator on {server.base_url} "
        f"({len(dataset.products)} products, {len(dataset.runs)} runs, "
        f"{len(dataset.artifacts)} artifacts; clock {dataset.now:%Y-%m-%d %H:%M} UTC)"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stopping.set()
        signal.signal(signal.SIGTERM, previous)
        server.httpd.server_close()
