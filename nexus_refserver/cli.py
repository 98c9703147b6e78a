"""`nexus-refserver`: parse flags, bind the socket, announce the URL on stdout, serve until SIGTERM."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import socket
import sys
from pathlib import Path
from types import FrameType

import uvicorn
import yaml

from nexus_refserver.alerting.storm import AlertStorm
from nexus_refserver.config import KEEP_ALIVE_S, ServerConfig
from nexus_refserver.telemetry.catalog import MAX_SERVICES, SEED_SERVICE_COUNT

log = logging.getLogger("nexus_refserver")


def build_parser() -> argparse.ArgumentParser:
    defaults = ServerConfig()
    parser = argparse.ArgumentParser(prog="nexus-refserver", description="The Nexus reference server.")
    add = parser.add_argument
    add("--host", default=defaults.host, help="address to bind (default 127.0.0.1)")
    add("--port", type=int, default=defaults.port, help="port; 0 picks a free one")
    add("--data-dir", type=Path, default=defaults.data_dir, help="where the SQLite databases live")
    add("--seed", type=int, default=defaults.seed, help="seed of the generated platform data")
    add("--scale", type=float, default=defaults.scale, help="1.0 = 50k users, 20 = 1M")
    add("--clock-factor", type=float, default=defaults.clock_factor, help="simulated seconds per real second")
    add("--scenario", default=defaults.scenario, help="default | none | PATH to a scenario TOML")
    add(
        "--services",
        type=_service_count,
        default=defaults.services,
        metavar="N",
        help=f"simulate N services: the seed's {SEED_SERVICE_COUNT} and N-{SEED_SERVICE_COUNT} generated in "
        f"their style (at most {MAX_SERVICES}); default: the seed's {SEED_SERVICE_COUNT}",
    )
    add("--enable-fault-control", action="store_true", help="mount POST /_control/faults")
    add("--multi-port", action="store_true", help="also bind each service on its own port")
    add("--port-offset", type=int, default=defaults.port_offset, help="added to each service's seed port")
    add("--demo-password", default=defaults.demo_password, help="password of the demo accounts")
    add("--access-ttl", type=float, default=defaults.access_ttl_s, help="access token lifetime, seconds")
    add("--refresh-ttl", type=float, default=defaults.refresh_ttl_s, help="refresh token lifetime, seconds")
    add("--users-db-url", default=None, help="SQLAlchemy URL of the users database")
    add("--workstation-db-url", default=None, help="SQLAlchemy URL of the workstation database")
    add("--marketplace-db-url", default=None, help="SQLAlchemy URL of the marketplace database")
    add("--nexus-db-url", default=None, help="SQLAlchemy URL of the nexus database")
    add("--log-level", default=defaults.log_level, choices=["debug", "info", "warning", "error"])
    add(
        "--sse-keepalive", type=float, default=defaults.sse_keepalive_s, help="seconds between SSE keepalives"
    )
    add(
        "--without-alert-stream",
        action="store_true",
        help="answer GET /alerts/stream with 404, like a deployment without that extension",
    )
    add(
        "--alert-storm",
        type=_alert_storm,
        default=None,
        metavar="RATE:SECONDS[@DELAY]",
        help="benchmark load: RATE distinct firing alerts a second for SECONDS, DELAY seconds after start",
    )
    # test-only: prove that a crash between an entity change and its audit row loses no audit row
    add("--crash-after-entity-write", action="store_true", help=argparse.SUPPRESS)
    add("--dump-openapi", type=Path, default=None, metavar="PATH", help="write the OpenAPI YAML and exit")
    return parser


def _service_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not SEED_SERVICE_COUNT <= count <= MAX_SERVICES:
        raise argparse.ArgumentTypeError(
            f"between {SEED_SERVICE_COUNT} (the seed's services) and {MAX_SERVICES}, got {count}"
        )
    return count


def _alert_storm(text: str) -> str:
    try:
        AlertStorm.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        seed=args.seed,
        scale=args.scale,
        clock_factor=args.clock_factor,
        scenario=args.scenario,
        services=args.services,
        enable_fault_control=args.enable_fault_control,
        multi_port=args.multi_port,
        port_offset=args.port_offset,
        demo_password=args.demo_password,
        access_ttl_s=args.access_ttl,
        refresh_ttl_s=args.refresh_ttl,
        users_db_url=args.users_db_url,
        workstation_db_url=args.workstation_db_url,
        marketplace_db_url=args.marketplace_db_url,
        nexus_db_url=args.nexus_db_url,
        log_level=args.log_level,
        sse_keepalive_s=args.sse_keepalive,
        without_alert_stream=args.without_alert_stream,
        crash_after_entity_write=args.crash_after_entity_write,
        alert_storm=args.alert_storm,
    )


def openapi_yaml() -> str:
    """The contract, generated from the app without touching any database."""
    from nexus_refserver.app import create_api

    return yaml.dump(
        create_api().openapi(), Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=110
    )


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated objects out in full: anchors and aliases make a contract diff hard to read."""

    def ignore_aliases(self, data: object) -> bool:
        return True


class _Server(uvicorn.Server):
    """Ends SSE streams at once on SIGTERM, so graceful shutdown does not wait for them."""

    def __init__(self, config: uvicorn.Config, app) -> None:  # type: ignore[no-untyped-def]
        super().__init__(config)
        self._app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM:
            # a requested stop is a clean exit (status 0), not death by the re-raised signal
            self._captured_signals.remove(sig)
        shutdown = getattr(self._app.state, "shutdown", None)
        loop = getattr(self._app.state.context.alerts.notifier, "_loop", None)
        if shutdown is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(shutdown.set)
            self._app.state.context.alerts.notifier.notify()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.dump_openapi is not None:
        args.dump_openapi.parent.mkdir(parents=True, exist_ok=True)
        args.dump_openapi.write_text(openapi_yaml(), encoding="utf-8")
        log.info("wrote %s", args.dump_openapi)
        return 0

    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
    # and without it every split response waits ~40 ms for a delayed ACK
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)
    port = sock.getsockname()[1]
    config = dataclasses.replace(config_from_args(args), port=port)
    url = f"http://{config.host}:{port}"

    def announce() -> None:
        print(f"nexus-refserver listening on {url}", flush=True)

    from nexus_refserver.app import create_app

    app = create_app(config, on_ready=announce)
    uvicorn_config = uvicorn.Config(
        app,
        log_config=None,
        log_level=args.log_level,
        access_log=args.log_level == "debug",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=KEEP_ALIVE_S,
        lifespan="on",
    )
    _Server(uvicorn_config, app).run(sockets=[sock])
    return 0
