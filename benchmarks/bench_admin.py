"""Admin lookups and the offline action queue.

- search_first_page_p95_ms: user search on 1M users on a PostgreSQL 15 streaming replica (name
  substrings, email prefixes, ids), time to the first page through the console's Lookups service (executor
  hop, read-only session, lag stamp included), p95 over a seeded mix of queries.
- search_keyset_vs_offset: the same name search paged to page 1,000 (50 rows a page) with OFFSET versus
  the keyset page; the ratio of median times.
- outbox_replay_per_s: 10k queued actions (10k users, one reset_password each) replayed from the durable
  outbox against the reference server (its default SQLite storage), through the HTTP client the console's
  admin runtime uses (services.http.client.build_write_client). Replay stops after a time budget and
  reports the rate reached. outbox_sender_ceiling_per_s is the console side alone, the same 10k against
  an in-process transport that answers 200 at once (outbox fsyncs and sender included).

Needs PostgreSQL 15 server binaries (scripts/pg-up.sh starts a private primary + replica on free ports).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from nexus_console.domain.admin import ActionRequest, EntityRef, EntityType
from nexus_console.domain.outbox_model import OutboxState
from nexus_console.services.admin_runtime import AdminSettings
from nexus_console.services.auth import PasswordLogin
from nexus_console.services.http.client import build_write_client
from nexus_console.services.lookups import Lookups, UserSearch, select_users, select_users_offset, users
from nexus_console.services.outbox import AsyncOutbox, Outbox
from nexus_console.services.outbox_sender import OutboxSender
from nexus_console.services.profiles import TlsSettings
from nexus_console.services.replicas import Replica, ReplicaConfig, ReplicaSet
from tests.support.postgres import PgCluster
from tests.support.refserver import RefServer

USER_COUNT = 1_000_000
PAGE = 50
DEEP_PAGE = 1_000
REPLAY_ACTIONS = 10_000
REPLAY_BUDGET_S = 60.0


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _load_users(cluster: PgCluster) -> None:
    """1M users shaped like the reference generator's (same name lists and email form), via SQL."""
    from sqlalchemy import create_engine

    from nexus_refserver.generator import EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES
    from nexus_refserver.schema import users_metadata

    engine = create_engine(cluster.primary_url("users"))
    users_metadata.create_all(engine)
    engine.dispose()
    with psycopg.connect(_plain(cluster.primary_url("users")), autocommit=True) as conn:
        conn.execute("TRUNCATE users")
        conn.execute(
            """INSERT INTO users (id, email, name, country, signup_at, last_active_at, status, email_verified,
                                  password_reset_at, version)
               SELECT g, lower(f) || '.' || lower(l) || g || '@' || d, f || ' ' || l, 'NO',
                      now() - random() * interval '1000 days', now() - random() * interval '20 days',
                      CASE WHEN r < 0.94 THEN 'active' WHEN r < 0.98 THEN 'suspended' ELSE 'banned' END,
                      random() < 0.85, NULL, 1
               FROM (SELECT g, random() AS r,
                            (%(first)s::text[])[1 + floor(random() * %(nf)s)::int] AS f,
                            (%(last)s::text[])[1 + floor(random() * %(nl)s)::int] AS l,
                            (%(domains)s::text[])[1 + floor(random() * %(nd)s)::int] AS d
                     FROM generate_series(1, %(count)s) AS g) AS s""",
            {
                "first": list(FIRST_NAMES),
                "nf": len(FIRST_NAMES),
                "last": list(LAST_NAMES),
                "nl": len(LAST_NAMES),
                "domains": list(EMAIL_DOMAINS),
                "nd": len(EMAIL_DOMAINS),
                "count": USER_COUNT,
            },
        )
        # the reference server's PostgreSQL schema: trigram indexes for substring search
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        conn.execute("CREATE INDEX IF NOT EXISTS ix_users_email_trgm ON users USING gin (email gin_trgm_ops)")
        conn.execute("CREATE INDEX IF NOT EXISTS ix_users_name_trgm ON users USING gin (name gin_trgm_ops)")
        conn.execute("VACUUM ANALYZE users")
        target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    with psycopg.connect(_plain(cluster.replica_url("users")), autocommit=True) as replica:
        deadline = time.monotonic() + 300
        while not replica.execute(
            "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s::pg_lsn) >= 0", (str(target),)
        ).fetchone()[0]:
            if time.monotonic() > deadline:
                raise TimeoutError("the replica did not catch up with the 1M-user load")
            time.sleep(0.1)


def _query_mix(rng: random.Random, count: int) -> list[str]:
    from nexus_refserver.generator import FIRST_NAMES, LAST_NAMES

    queries = []
    for _ in range(count):
        roll = rng.random()
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if roll < 0.4:
            word = rng.choice((first, last)).lower()
            size = rng.randint(3, min(5, len(word))) if len(word) >= 3 else len(word)
            start = rng.randint(0, len(word) - size)
            queries.append(word[start : start + size])
        elif roll < 0.8:
            queries.append(f"{first.lower()}.{last.lower()[: rng.randint(0, 3)]}")
        else:
            queries.append(str(rng.randint(1, USER_COUNT)))
    return queries


async def _search_latencies(replica_url: str, queries: list[str], warmup: int) -> list[float]:
    replicas = ReplicaSet([ReplicaConfig("users", (replica_url,), pool_size=2)])
    lookups = Lookups(replicas)
    timings = []
    try:
        for index, query in enumerate(queries):
            started = time.perf_counter()
            await lookups.search_users(UserSearch(query), limit=PAGE)
            elapsed = (time.perf_counter() - started) * 1000
            if index >= warmup:
                timings.append(elapsed)
    finally:
        await replicas.aclose()
    return timings


def _keyset_vs_offset(replica_url: str, query: str) -> tuple[float, float, int]:
    replica = Replica(ReplicaConfig("users", (replica_url,), statement_timeout_ms=30_000))
    search = UserSearch(query)
    offset = PAGE * (DEEP_PAGE - 1)
    try:
        deep = replica.run(
            lambda conn: conn.execute(select_users_offset(search, [users.c.id], offset - 1, 1)).scalar_one()
        ).value
        keyset_ms, offset_ms = [], []
        for _ in range(7):
            started = time.perf_counter()
            keyset_rows = replica.run(
                lambda conn: conn.execute(select_users(search, [users.c.id], (deep,), PAGE)).scalars().all()
            ).value
            keyset_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            offset_rows = replica.run(
                lambda conn: (
                    conn.execute(select_users_offset(search, [users.c.id], offset, PAGE)).scalars().all()
                )
            ).value
            offset_ms.append((time.perf_counter() - started) * 1000)
            assert keyset_rows == offset_rows, "keyset and OFFSET pages differ"
    finally:
        replica.dispose()
    return statistics.median(keyset_ms), statistics.median(offset_ms), offset


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure_search() -> dict[str, float]:
    cluster = PgCluster(("users",), replicas=1)
    try:
        cluster.start()
        started = time.perf_counter()
        _load_users(cluster)
        load_s = time.perf_counter() - started
        replica_url = cluster.replica_url("users")
        queries = _query_mix(random.Random(7), 330)
        timings = asyncio.run(_search_latencies(replica_url, queries, warmup=30))
        keyset_ms, offset_ms, offset = _keyset_vs_offset(replica_url, "an")
    finally:
        cluster.destroy()
    return {
        "p95": _percentile(timings, 0.95),
        "p50": statistics.median(timings),
        "keyset_ms": keyset_ms,
        "offset_ms": offset_ms,
        "offset": offset,
        "load_s": load_s,
    }


# --- outbox replay ------------------------------------------------------------------------------------


def _queue_reset_passwords(outbox_path: Path, user_ids: list[int]) -> None:
    outbox = Outbox(outbox_path)
    try:
        outbox.enqueue_many(
            [
                ActionRequest(
                    EntityRef(EntityType.USER, str(i)), "reset_password", "benchmark", expected_version=1
                )
                for i in user_ids
            ]
        )
    finally:
        outbox.close()


async def _replay(
    outbox_path: Path, client: httpx.AsyncClient, token: Any, budget_s: float
) -> tuple[int, float, str]:
    """Replay until the outbox is empty or the budget is spent; retries wait for their due time."""
    outbox = await AsyncOutbox.open(outbox_path)
    try:
        settings = AdminSettings()  # as the console's admin runtime sends
        sender = OutboxSender(
            outbox,
            client,
            token,
            batch_size=settings.sender_batch_size,
            concurrency=settings.sender_concurrency,
        )
        started = time.perf_counter()
        deadline = started + budget_s
        while time.perf_counter() < deadline:
            await sender.drain(max_s=deadline - time.perf_counter())
            due = await outbox.next_due_at()
            if due is None:
                break
            await asyncio.sleep(max(0.0, min(due - time.time(), deadline - time.perf_counter())))
        elapsed = time.perf_counter() - started
        retried = [
            e.last_error
            for e in await outbox.entries([OutboxState.QUEUED], limit=REPLAY_ACTIONS)
            if e.last_error
        ]
        note = f"; {len(retried)} waiting to retry, e.g. {retried[0]}" if retried else ""
        return (await outbox.counts())[OutboxState.APPLIED], elapsed, note
    finally:
        await outbox.aclose()


def _active_user_ids(data_dir: Path, count: int) -> list[int]:
    import sqlite3

    db = sqlite3.connect(f"file:{data_dir / 'users.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT id FROM users WHERE status IN ('active', 'suspended') AND version = 1 "
            "ORDER BY id LIMIT ?",
            (count,),
        ).fetchall()
    finally:
        db.close()
    return [r[0] for r in rows]


def _console_cpu_s() -> float:
    """CPU (user + system) of this process so far, without the threads that read the reference
    server's output: those belong to the harness, not to the console."""
    process = psutil.Process()
    times = process.cpu_times()
    harness = {t.native_id for t in threading.enumerate() if "_drain_" in t.name}
    harness_s = sum(t.user_time + t.system_time for t in process.threads() if t.id in harness)
    return times.user + times.system - harness_s


def measure_replay() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="nexus-bench-outbox-") as tmp:
        tmp_path = Path(tmp)
        server = RefServer(tmp_path / "refserver", "--seed", "5", "--scale", "0.25", "--scenario", "none")
        server.start(timeout_s=180)
        try:
            user_ids = _active_user_ids(server.data_dir, REPLAY_ACTIONS)
            _queue_reset_passwords(tmp_path / "outbox.sqlite3", user_ids)

            async def against_server() -> tuple[int, float, str]:
                # the client the console's admin runtime sends with (asyncio network backend)
                client = build_write_client(TlsSettings(), timeout_s=30, base_url=server.base_url)
                async with client:
                    token = PasswordLogin(client, "admin@nexus.test", "nexus-demo")
                    return await _replay(tmp_path / "outbox.sqlite3", client, token, REPLAY_BUDGET_S)

            server_process = psutil.Process(server.proc.pid)  # type: ignore[union-attr]
            cpu_before = server_process.cpu_times()
            console_before = _console_cpu_s()
            applied, elapsed, retry_note = asyncio.run(against_server())
            console_cpu_s = _console_cpu_s() - console_before
            cpu_after = server_process.cpu_times()
            server_cpu_s = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
        finally:
            server.stop()

        _queue_reset_passwords(tmp_path / "ceiling.sqlite3", list(range(1, REPLAY_ACTIONS + 1)))

        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={"version": 2}, headers={"ETag": '"v2"'})

        async def console_only() -> tuple[int, float, str]:
            async with httpx.AsyncClient(
                transport=httpx.MockTransport(answer), base_url="http://bench"
            ) as client:

                async def token() -> str:
                    return "bench"

                return await _replay(tmp_path / "ceiling.sqlite3", client, token, REPLAY_BUDGET_S)

        ceiling_applied, ceiling_elapsed, _ = asyncio.run(console_only())
    return {
        "rate": applied / elapsed,
        "applied": applied,
        "elapsed": elapsed,
        "retry_note": retry_note,
        "ceiling": ceiling_applied / ceiling_elapsed,
        "server_cpu_ms": server_cpu_s * 1000 / max(1, applied),
        "console_cpu_ms": console_cpu_s * 1000 / max(1, applied),
    }


def run() -> list[dict]:
    search = measure_search()
    replay = measure_replay()
    return [
        {
            "name": "search_first_page_p95_ms",
            "value": round(search["p95"], 2),
            "unit": "ms",
            "target": "<= 30",
            "note": f"1M users on the PG replica, 300 queries (name/email/id mix), "
            f"p50 {search['p50']:.2f} ms; data load {search['load_s']:.0f} s",
        },
        {
            "name": "search_keyset_vs_offset",
            "value": round(search["offset_ms"] / search["keyset_ms"], 1),
            "unit": "x",
            "target": ">= 20",
            "baseline": {"name": "search_offset_page_1000_ms", "value": round(search["offset_ms"], 2)},
            "note": f"name search 'an', page {DEEP_PAGE} (OFFSET {search['offset']:,}); "
            f"keyset page {search['keyset_ms']:.2f} ms",
        },
        {
            "name": "outbox_replay_per_s",
            "value": round(replay["rate"], 1),
            "unit": "actions/s",
            "target": ">= 500",
            "baseline": {"name": "outbox_sender_ceiling_per_s", "value": round(replay["ceiling"], 1)},
            "note": f"{replay['applied']:,} of {REPLAY_ACTIONS:,} applied in {replay['elapsed']:.1f} s "
            f"(budget {REPLAY_BUDGET_S:.0f} s) against the reference server; the baseline is the console "
            f"side alone (in-process transport){replay['retry_note']}",
        },
        {
            "name": "outbox_replay_vs_server_ceiling",
            "value": round(replay["rate"] / (1000 / replay["server_cpu_ms"]), 3),
            "unit": "x",
            "target": ">= 0.9",
            "baseline": {
                "name": "refserver_ceiling_per_s",
                "value": round(1000 / replay["server_cpu_ms"], 1),
            },
            "note": f"the replay's {replay['rate']:.0f} actions/s over what the reference server can apply "
            f"at all, 1000 / its own CPU per action ({replay['server_cpu_ms']:.2f} ms, same run): the share "
            "of the server's ceiling the console reaches (the server is one process on the same 2 cores)",
        },
        {
            "name": "console_cpu_ms_per_patch",
            "value": round(replay["console_cpu_ms"], 2),
            "unit": "ms",
            "target": "informational",
            "note": "console process CPU (user + system; outbox, sender, HTTP client) per applied action "
            "during the replay, without the harness threads reading the server's output",
        },
        {
            "name": "refserver_cpu_ms_per_patch",
            "value": round(replay["server_cpu_ms"], 2),
            "unit": "ms",
            "target": "informational",
            "note": "reference server process CPU (user + system) per applied action during the replay; "
            "independent of how busy the machine is",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
