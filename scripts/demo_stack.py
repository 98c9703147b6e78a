"""The demo's real data stack: a PostgreSQL primary with two streaming replicas (through scripts/pg-up.sh),
Prometheus, Alertmanager and node exporter (the Debian packages), all on 127.0.0.1, in the console's user
data directory, started by this script (no docker, no systemd).

    demo_stack.py check           exit 0 when everything it needs is installed, else 1 and what is missing
    demo_stack.py up              start whatever is not running (idempotent) and print the stack file's path
    demo_stack.py down [--purge]  stop what `up` started (only the PIDs it recorded); --purge deletes its data
    demo_stack.py status          what runs where

`make demo` (scripts/demo.sh) runs `up` before the console and `down` when the console exits. The console
reads the stack file named by NEXUS_DEMO_STACK (nexus_console/services/demo_server.py): the reference server's
port (fixed, so that Prometheus can scrape it), its database URLs on the primary, the replica URLs the console
reads, and the Prometheus and Alertmanager URLs. Passwords are in a 0600 pgpass file, never in a URL.

Where: `<user data dir>/demo-stack/` (~/.local/share/nexus-console/demo-stack on Linux), logs in its logs/.
PostgreSQL refuses to run as root, so as root the clusters run as the `postgres` OS user (PGOSUSER, as in
pg-up.sh), which cannot enter /root: they live in /var/lib/nexus-console/demo-postgres-<hash of stack dir>.
DEMO_PGBASE overrides where the clusters live; PG_FSYNC=off is passed on to pg-up.sh.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from nexus_console.services.profiles import data_dir

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo_stack_configs import monitoring_commands, write_configs
from demo_stack_processes import (
    ProcessError,
    cmdline_of,
    free_port,
    ours,
    port_free,
    spawn,
    stop_pid,
    wait_ready,
)

REPO = Path(__file__).resolve().parents[1]
PG_UP = REPO / "scripts" / "pg-up.sh"
PG_DOWN = REPO / "scripts" / "pg-down.sh"
STACK_FILE = "stack.json"
FORMAT = 1
DATABASES = ("users", "workstation", "marketplace", "nexus")
PLATFORM_DATABASES = ("users", "workstation", "marketplace")  # what the console reads on the replicas
REPLICAS = 2
PGOSUSER = os.environ.get("PGOSUSER", "postgres")
BINARIES = {
    "prometheus": "prometheus",
    "alertmanager": "prometheus-alertmanager",
    "node-exporter": "prometheus-node-exporter",
}
DESCRIPTION = f"PostgreSQL primary + {REPLICAS} streaming replicas, Prometheus, Alertmanager, node exporter"


class StackError(RuntimeError):
    pass


def say(text: str) -> None:
    print(f"demo stack: {text}", file=sys.stderr, flush=True)


# --- where ----------------------------------------------------------------------------------------------


def stack_dir() -> Path:
    return data_dir() / "demo-stack"


def pgbin() -> Path | None:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: [int(part) for part in p.parent.parent.name.split(".") if part.isdigit()],
    )
    return found[-1].parent if found else None


def missing() -> list[str]:
    """What `up` needs and does not find."""
    gaps = [] if pgbin() is not None else ["PostgreSQL server (postgresql-15)"]
    gaps += [binary for binary in BINARIES.values() if shutil.which(binary) is None]
    try:
        import nexus_refserver.telemetry.catalog  # noqa: F401
    except ImportError:
        gaps.append("the reference server (pip install ./packaging/refserver)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        gaps.append("runuser (util-linux)")
    return gaps


def choose_pgbase(directory: Path) -> Path:
    """In the stack dir; as root, where the postgres OS user can enter (the stack dir is 0700: it holds the
    pgpass file), one per stack dir."""
    if os.environ.get("DEMO_PGBASE"):
        return Path(os.environ["DEMO_PGBASE"])
    if os.geteuid() != 0:
        return directory / "postgres"
    digest = hashlib.sha1(str(directory).encode()).hexdigest()[:8]
    return Path("/var/lib/nexus-console") / f"demo-postgres-{digest}"


# --- the stack file -------------------------------------------------------------------------------------


def load_state(directory: Path) -> dict[str, Any] | None:
    path = directory / STACK_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if state.get("format") == FORMAT else None


def save_state(directory: Path, state: dict[str, Any]) -> Path:
    path = directory / STACK_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def with_urls(state: dict[str, Any]) -> dict[str, Any]:
    """The part the console reads: where the reference server listens and what it and the console use."""
    ports, passfile = state["ports"], state["passfile"]

    def url(port: int, database: str) -> str:
        return f"postgresql+psycopg://app@127.0.0.1:{port}/{database}?passfile={passfile}"

    return dict(
        state,
        description=DESCRIPTION,
        refserver_port=ports["refserver"],
        database_urls={name: url(ports["primary"], name) for name in DATABASES},
        replicas={name: [url(port, name) for port in ports["replicas"]] for name in PLATFORM_DATABASES},
        # the Database pane reads the primary as the monitoring role (pg_monitor, no write grant)
        monitoring_dsn=url(ports["primary"], "users").replace("//app@", "//nexus_monitor@"),
        prometheus_url=f"http://127.0.0.1:{ports['prometheus']}",
        alertmanager_urls=[f"http://127.0.0.1:{ports['alertmanager']}"],
        node_exporter_url=f"http://127.0.0.1:{ports['node-exporter']}",
    )


# --- PostgreSQL -----------------------------------------------------------------------------------------


def app_password(state: dict[str, Any]) -> str:
    try:
        return Path(state["passfile"]).read_text(encoding="utf-8").strip().rsplit(":", 1)[1]
    except (OSError, IndexError):
        return ""


def pg_env(state: dict[str, Any]) -> dict[str, str]:
    ports = state["ports"]
    return dict(
        os.environ,
        PGBASE=state["pgbase"],
        P_PORT=str(ports["primary"]),
        R_PORTS=" ".join(str(p) for p in ports["replicas"]),
        PG_DATABASES=" ".join(DATABASES),
        APP_PW=app_password(state),
        PGOSUSER=PGOSUSER,
    )


def postgres_up(state: dict[str, Any]) -> dict[str, int]:
    base = Path(state["pgbase"])
    base.mkdir(parents=True, exist_ok=True)
    # pg-up.sh keeps the sockets (trust auth for local connections) here: nobody else may enter
    (base / "sock").mkdir(mode=0o700, exist_ok=True)
    (base / "sock").chmod(0o700)
    result = subprocess.run(
        ["bash", str(PG_UP)], env=pg_env(state), capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise StackError(f"scripts/pg-up.sh failed ({result.returncode}): {result.stdout}{result.stderr}")
    pids = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[1] == "pid":
            pids[parts[0]] = int(parts[2])
    # the password the pgpass file holds, also on a cluster an earlier stack file created
    psql = [str(pgbin() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(base / "sock")]
    psql += ["-p", str(state["ports"]["primary"]), "-U", "postgres", "-d", "postgres"]
    if os.geteuid() == 0:
        psql = ["runuser", "-u", PGOSUSER, "--", *psql]
    sql = f"ALTER ROLE app PASSWORD '{app_password(state)}';\n"
    sql += f"ALTER ROLE nexus_monitor PASSWORD '{app_password(state)}';\n"
    done = subprocess.run(psql, input=sql, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise StackError(f"could not set the demo role's password: {done.stderr.strip()}")
    return pids


def postgres_down(state: dict[str, Any]) -> None:
    if not Path(state["pgbase"]).exists():
        return
    result = subprocess.run(
        ["bash", str(PG_DOWN)], env=pg_env(state), capture_output=True, text=True, timeout=180
    )
    for line in (result.stdout + result.stderr).splitlines():
        if line.strip() and "not running" not in line:
            say(line.strip())


# --- Prometheus, Alertmanager, node exporter ------------------------------------------------------------


READY_PATHS = {"node-exporter": "/metrics", "alertmanager": "/-/ready", "prometheus": "/-/ready"}


def monitoring_up(directory: Path, state: dict[str, Any], deadline: float) -> None:
    (directory / "node-exporter").mkdir(exist_ok=True)
    commands = monitoring_commands(directory, state["ports"], BINARIES)
    started: dict[str, subprocess.Popen[bytes]] = {}
    for name in ("node-exporter", "alertmanager", "prometheus"):
        pid = state["pids"].get(name)
        if ours(pid, commands[name][0], directory):
            if name != "node-exporter":  # re-read the configs just written (SIGHUP ends node exporter)
                os.kill(pid, signal.SIGHUP)
            continue
        started[name] = spawn(name, commands[name], directory)
        state["pids"][name] = started[name].pid
    for name in ("node-exporter", "alertmanager", "prometheus"):
        url = f"http://127.0.0.1:{state['ports'][name]}{READY_PATHS[name]}"
        wait_ready(url, deadline, started.get(name), directory / "logs" / f"{name}.log")


# --- commands -------------------------------------------------------------------------------------------


def cluster_port(pgbase: Path, name: str) -> int | None:
    """The port an existing cluster was made with (pg-up.sh writes it into its config once)."""
    found = None
    for conf in ("postgresql.conf", "postgresql.auto.conf"):
        with contextlib.suppress(OSError):
            for line in (pgbase / name / conf).read_text(encoding="utf-8").splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "port" and value.split("#")[0].strip().isdigit():
                    found = int(value.split("#")[0].strip())
    return found


def fresh_ports(state: dict[str, Any] | None, directory: Path, pgbase: Path) -> dict[str, Any]:
    """PostgreSQL keeps the ports its clusters were made with; the others move when someone took theirs."""
    old = (state or {}).get("ports", {})
    pids = (state or {}).get("pids", {})
    replicas = [cluster_port(pgbase, f"replica{i + 1}") for i in range(REPLICAS)]
    ports: dict[str, Any] = {
        "primary": cluster_port(pgbase, "primary") or free_port(),
        "replicas": [port or free_port() for port in replicas],
    }
    for name, binary in BINARIES.items():
        port = old.get(name)
        if not port or not (port_free(port) or ours(pids.get(name), binary, directory)):
            port = free_port()
        ports[name] = port
    refserver = old.get("refserver")
    ports["refserver"] = refserver if refserver and port_free(refserver) else free_port()
    return ports


def up() -> Path:
    gaps = missing()
    if gaps:
        raise StackError(f"not installed: {', '.join(gaps)}")
    directory = stack_dir()
    (directory / "logs").mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    state = load_state(directory)
    passfile = directory / "pgpass"
    pgbase = Path((state or {}).get("pgbase") or choose_pgbase(directory))
    state = {
        "format": FORMAT,
        "dir": str(directory),
        "pgbase": str(pgbase),
        "passfile": str(passfile),
        "ports": fresh_ports(state, directory, pgbase),
        "pids": (state or {}).get("pids", {}),
    }
    if not app_password(state):  # the demo role's password: made once, kept in the pgpass file only
        with passfile.open("w", encoding="utf-8") as out:  # libpq reads it only when no one else can
            os.fchmod(out.fileno(), 0o600)
            out.write(f"127.0.0.1:*:*:app:{secrets.token_urlsafe(18)}\n")
    monitor_line = f"127.0.0.1:*:*:nexus_monitor:{app_password(state)}\n"
    if monitor_line not in passfile.read_text(encoding="utf-8"):  # a stack file made before the role
        with passfile.open("a", encoding="utf-8") as out:
            out.write(monitor_line)
    save_state(directory, with_urls(state))  # `down` finds what a half-finished `up` started
    deadline = time.monotonic() + 120
    try:
        state["pids"].update(postgres_up(state))
        write_configs(directory, state)
        monitoring_up(directory, state, deadline)
    finally:
        path = save_state(directory, with_urls(state))
    return path


def down(purge: bool) -> None:
    directory = stack_dir()
    state = load_state(directory)
    if state is None:
        say(f"nothing recorded in {directory}")
        return
    commands = monitoring_commands(directory, state["ports"], BINARIES)
    for name in ("prometheus", "alertmanager", "node-exporter"):
        pid = state["pids"].get(name)
        if ours(pid, commands[name][0], directory):
            stop_pid(pid)
            say(f"stopped {name} (pid {pid})")
        state["pids"].pop(name, None)
    for pid in orphaned_servers(state["passfile"]):
        stop_pid(pid)
        say(f"stopped a reference server a killed console left on the stack (pid {pid})")
    postgres_down(state)
    for name in ("primary", *(f"replica{i + 1}" for i in range(REPLICAS))):
        state["pids"].pop(name, None)
    save_state(directory, state)
    if purge:
        running = [name for name in ("primary", "replica1", "replica2") if _pg_running(state, name)]
        if running:
            raise StackError(f"not purging: {', '.join(running)} still running")
        shutil.rmtree(state["pgbase"], ignore_errors=True)
        shutil.rmtree(directory, ignore_errors=True)
        say(f"purged {directory} and {state['pgbase']}")


def orphaned_servers(passfile: str) -> list[int]:
    """Reference servers on this stack's databases whose console is gone (the console stops its own; one
    that lost its X display, say, does not)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            cmdline = cmdline_of(int(entry.name))
            if "nexus_refserver" in cmdline and any(f"passfile={passfile}" in arg for arg in cmdline):
                found.append(int(entry.name))
    return found


def _pg_running(state: dict[str, Any], name: str) -> bool:
    pidfile = Path(state["pgbase"]) / name / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    return Path(f"/proc/{pid}").exists()


def status() -> int:
    state = load_state(stack_dir())
    if state is None:
        print(f"no demo stack recorded in {stack_dir()}")
        return 1
    commands = monitoring_commands(Path(state["dir"]), state["ports"])
    ports = state["ports"]
    for name in ("prometheus", "alertmanager", "node-exporter"):
        alive = ours(state["pids"].get(name), commands[name][0], Path(state["dir"]))
        print(f"{name:14} {'running' if alive else 'stopped':8} 127.0.0.1:{ports[name]}")
    for index, name in enumerate(("primary", *(f"replica{i + 1}" for i in range(REPLICAS)))):
        port = ports["primary"] if index == 0 else ports["replicas"][index - 1]
        alive = _pg_running(state, name)
        print(f"{'postgres ' + name:14} {'running' if alive else 'stopped':8} 127.0.0.1:{port}")
    print(f"reference server port 127.0.0.1:{ports['refserver']} (started by the console)")
    print(f"data: {state['dir']} (PostgreSQL: {state['pgbase']})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo_stack.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="exit 0 when everything is installed")
    commands.add_parser("up", help="start what is not running; print the stack file's path")
    stop = commands.add_parser("down", help="stop what up started")
    stop.add_argument("--purge", action="store_true", help="also delete the stack's data")
    commands.add_parser("status", help="what runs where")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            gaps = missing()
            if gaps:  # scripts/demo.sh says it in a sentence of its own
                print(", ".join(gaps))
                return 1
            return 0
        if args.command == "up":
            started = time.monotonic()
            path = up()
            stack = json.loads(path.read_text(encoding="utf-8"))
            ports = stack["ports"]
            replicas = ", ".join(f":{port}" for port in ports["replicas"])
            say(
                f"PostgreSQL primary 127.0.0.1:{ports['primary']} (replicas {replicas}), Prometheus "
                f"{stack['prometheus_url']}, Alertmanager {stack['alertmanager_urls'][0]}, node exporter "
                f"{stack['node_exporter_url']}; data in {stack['dir']}; "
                f"up in {time.monotonic() - started:.1f} s"
            )
            print(path)
            return 0
        if args.command == "down":
            down(args.purge)
            return 0
        return status()
    except (StackError, ProcessError) as exc:
        say(str(exc))
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
