"""The reference server's settings, shared by the API, the simulated estate and the alert engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

DEMO_ACCOUNTS = ("admin", "moderator", "finance", "analyst", "viewer")
USERS_PER_SCALE = 50_000
# idle keep-alive of client connections: nginx's default; uvicorn's own 5 s made every 5 s poller reconnect
KEEP_ALIVE_S = 75  # --scale 1 is the demo size; --scale 20 gives 1M users


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 0
    # Never the current directory: the platform's data dir (~/.local/share/nexus-refserver on Linux)
    data_dir: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir("nexus-refserver")))
    seed: int = 42
    scale: float = 1.0
    # simulated seconds per real second; "for 5 minutes" takes 5 s at 60
    clock_factor: float = 1.0
    # "default" (the demo incident), "none", or a path to a scenario TOML file
    scenario: str = "default"
    enable_fault_control: bool = False
    # services in the simulated estate: None is the seed's 44; more adds generated ones in their style
    services: int | None = None
    multi_port: bool = False
    port_offset: int = 20000
    demo_password: str = "nexus-demo"
    access_ttl_s: float = 300.0
    refresh_ttl_s: float = 8 * 3600.0
    # SQLAlchemy URLs; None means an SQLite file under data_dir
    users_db_url: str | None = None
    workstation_db_url: str | None = None
    marketplace_db_url: str | None = None
    nexus_db_url: str | None = None
    log_level: str = "info"
    # seconds of silence on GET /alerts/stream before a `: keepalive` comment
    sse_keepalive_s: float = 15.0
    # serve no GET /alerts/stream (404), like a deployment without the extension: clients must poll
    without_alert_stream: bool = False
    # how often acknowledgements past ack_expires_at are turned back into firing alerts
    ack_expiry_check_s: float = 0.5
    # benchmark load `RATE:SECONDS[@DELAY]`: distinct firing alerts at RATE a second (alerting/storm.py)
    alert_storm: str | None = None
    # test-only fault: the process SIGKILLs itself between an admin change and its audit row
    crash_after_entity_write: bool = False

    @property
    def user_count(self) -> int:
        return max(10, int(self.scale * USERS_PER_SCALE))
