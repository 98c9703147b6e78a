"""The outbox against the real reference server on PostgreSQL: exactly-once application, conflicts that
hold back only their entity, read-your-writes on the replica, and a network cut with 1,000 actions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from nexus_console.domain.admin import ActionRequest, EntityRef, EntityType
from nexus_console.domain.backoff import Backoff
from nexus_console.domain.outbox_model import OutboxState
from nexus_console.domain.replica_reads import RowFreshness
from nexus_console.services.admin_actions import AdminActions
from nexus_console.services.auth import PasswordLogin
from nexus_console.services.lookups import Lookups
from nexus_console.services.outbox import AsyncOutbox
from nexus_console.services.outbox_sender import OutboxSender
from nexus_console.services.replicas import ReplicaConfig, ReplicaSet
from tests.admin.conftest import ADMIN_EMAIL, DEMO_PASSWORD, audit_counts_by_key, login, primary_rows
from tests.support.postgres import PgCluster
from tests.support.refserver import RefServer

pytestmark = [pytest.mark.postgres, pytest.mark.asyncio]


@dataclass
class Console:
    outbox: AsyncOutbox
    client: httpx.AsyncClient
    sender: OutboxSender


@pytest_asyncio.fixture
async def console(pg_refserver: RefServer, outbox_path: Path) -> AsyncIterator[Console]:
    outbox = await AsyncOutbox.open(outbox_path)
    client = httpx.AsyncClient(base_url=pg_refserver.base_url, timeout=10)
    sender = OutboxSender(
        outbox, client, PasswordLogin(client, ADMIN_EMAIL, DEMO_PASSWORD), backoff=Backoff(0.05, 0.3)
    )
    try:
        yield Console(outbox, client, sender)
    finally:
        await client.aclose()
        await outbox.aclose()


def user(n: int) -> EntityRef:
    return EntityRef(EntityType.USER, str(n))


def users_in(cluster: PgCluster, first: int, last: int, status: str = "active") -> list[dict]:
    return primary_rows(
        cluster,
        "users",
        "SELECT id, version, status FROM users WHERE id BETWEEN %s AND %s AND status = %s ORDER BY id",
        (first, last, status),
    )


async def settle(console: Console, timeout_s: float = 60.0) -> None:
    """Drain until nothing is waiting to be sent (conflicts and failures may remain)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        await console.sender.drain()
        due = await console.outbox.next_due_at()
        if due is None:
            return
        await asyncio.sleep(max(0.01, min(0.5, due - time.time())))
    raise TimeoutError(f"outbox still busy: {await console.outbox.counts()}")


def patch_behind_the_consoles_back(base_url: str, user_id: int, version: int, action: str) -> int:
    response = httpx.patch(
        f"{base_url}/admin/users/{user_id}",
        json={"action": action, "reason": "changed elsewhere"},
        headers={
            "Authorization": f"Bearer {login(base_url)}",
            "If-Match": f'"v{version}"',
            "Idempotency-Key": f"elsewhere-{user_id}-{version}",
        },
    )
    response.raise_for_status()
    return int(response.json()["version"])


async def test_queued_actions_are_applied_exactly_once_and_audited(
    console: Console, pg_cluster: PgCluster, pg_refserver: RefServer
) -> None:
    targets = users_in(pg_cluster, 900, 960)[:3]
    entries = await console.outbox.enqueue_many(
        [ActionRequest(user(t["id"]), "suspend", "spam wave", expected_version=t["version"]) for t in targets]
    )
    report = await console.sender.drain()
    assert (report.applied, report.conflicts, report.failed) == (3, 0, 0)
    for entry, target in zip(entries, targets, strict=True):
        done = await console.outbox.get(entry.id)
        assert done.state is OutboxState.APPLIED and done.applied_version == target["version"] + 1
    assert (await console.sender.drain()).sent == 0  # nothing is sent twice
    counts = audit_counts_by_key(pg_refserver.base_url, {e.idempotency_key for e in entries})
    assert set(counts.values()) == {1}


async def test_a_stale_version_conflicts_then_applies_again_on_the_new_one(
    console: Console, pg_cluster: PgCluster, pg_refserver: RefServer
) -> None:
    stale, other = users_in(pg_cluster, 961, 980)[:2]
    first = await console.outbox.enqueue(
        ActionRequest(user(stale["id"]), "suspend", "chargebacks", expected_version=stale["version"])
    )
    follow_up = await console.outbox.enqueue(ActionRequest(user(stale["id"]), "unsuspend", "follow-up"))
    independent = await console.outbox.enqueue(
        ActionRequest(user(other["id"]), "suspend", "chargebacks", expected_version=other["version"])
    )
    base_url = pg_refserver.base_url
    newer = patch_behind_the_consoles_back(base_url, stale["id"], stale["version"], "reset_password")

    report = await console.sender.drain()
    assert (report.conflicts, report.applied) == (1, 1)
    conflict = await console.outbox.get(first.id)
    assert conflict.state is OutboxState.CONFLICT and conflict.http_status == 412
    assert conflict.server_state is not None and conflict.server_state["version"] == newer
    assert conflict.server_state["status"] == "active"
    assert (await console.outbox.get(independent.id)).state is OutboxState.APPLIED  # not held back
    assert (await console.outbox.get(follow_up.id)).state is OutboxState.QUEUED  # held back

    await console.outbox.apply_again(first.id)
    await settle(console)
    assert (await console.outbox.get(first.id)).state is OutboxState.APPLIED
    assert (await console.outbox.get(follow_up.id)).state is OutboxState.APPLIED
    [final] = primary_rows(
        pg_cluster, "users", "SELECT status, version FROM users WHERE id = %s", (stale["id"],)
    )
    assert final == {"status": "active", "version": newer + 2}


async def test_a_transition_that_no_longer_applies_can_be_discarded(
    console: Console, pg_cluster: PgCluster, pg_refserver: RefServer
) -> None:
    target = users_in(pg_cluster, 981, 1000)[0]
    entry = await console.outbox.enqueue(
        ActionRequest(user(target["id"]), "suspend", "abuse", expected_version=target["version"])
    )
    follow_up = await console.outbox.enqueue(ActionRequest(user(target["id"]), "reset_password", "follow-up"))
    # someone else suspends first (a new version): the console's suspend then conflicts
    base_url = pg_refserver.base_url
    version = patch_behind_the_consoles_back(base_url, target["id"], target["version"], "suspend")
    await console.sender.drain()
    conflict = await console.outbox.get(entry.id)
    assert conflict.state is OutboxState.CONFLICT
    assert conflict.server_state is not None and conflict.server_state["status"] == "suspended"
    # applying it again on the new version is refused by the transition rules: 409
    await console.outbox.apply_again(entry.id)
    await console.sender.drain()
    again = await console.outbox.get(entry.id)
    assert again.state is OutboxState.CONFLICT and again.http_status == 409
    await console.outbox.discard(entry.id)
    await settle(console)
    # the follow-up inherits the version the admin accepted when applying again, and goes through
    done = await console.outbox.get(follow_up.id)
    assert done.state is OutboxState.APPLIED and done.applied_version == version + 1
    counts = audit_counts_by_key(pg_refserver.base_url, {entry.idempotency_key, done.idempotency_key})
    assert counts == {entry.idempotency_key: 0, done.idempotency_key: 1}


async def test_an_applied_action_waits_for_the_replica_then_refreshes(
    console: Console, pg_cluster: PgCluster, replica_urls: dict[str, tuple[str, ...]]
) -> None:
    target = users_in(pg_cluster, 880, 899)[0]
    replicas = ReplicaSet([ReplicaConfig("users", replica_urls["users"][:1])])
    actions = AdminActions(console.outbox, Lookups(replicas))
    # the sender tells the actions what the API applied (as the admin runtime wires them)
    sender = OutboxSender(
        console.outbox,
        console.client,
        PasswordLogin(console.client, ADMIN_EMAIL, DEMO_PASSWORD),
        backoff=Backoff(0.05, 0.3),
        on_results=actions.on_results,
    )
    entity = user(target["id"])
    pg_cluster.pause_replay(0)
    try:
        await actions.queue(ActionRequest(entity, "suspend", "fraud", expected_version=target["version"]))
        report = await sender.drain()
        assert report.applied == 1
        rows = await actions.refresh_rows(EntityType.USER, [target["id"]])
        row, freshness = rows[str(target["id"])]
        assert freshness is RowFreshness.WAITING_FOR_REPLICA
        assert row is not None and row["status"] == "active"  # the replica has not replayed the write
        assert actions.catch_up.label(entity) == "applied — waiting for replica"
    finally:
        pg_cluster.resume_replay(0)
    try:
        assert await actions.wait_for_replica(entity, timeout_s=10)
        row, freshness = (await actions.refresh_rows(EntityType.USER, [target["id"]]))[str(target["id"])]
        assert freshness is RowFreshness.CURRENT and row is not None and row["status"] == "suspended"
    finally:
        await replicas.aclose()


@pytest.mark.slow
async def test_network_cut_with_1000_queued_actions_applies_each_exactly_once(
    console: Console, pg_cluster: PgCluster, pg_refserver: RefServer
) -> None:
    targets = users_in(pg_cluster, 1, 560)[:500]
    assert len(targets) == 500
    requests = []
    for target in targets:
        entity = user(target["id"])
        requests.append(ActionRequest(entity, "suspend", "network test", expected_version=target["version"]))
        requests.append(ActionRequest(user(target["id"]), "unsuspend", "follow-up"))
    pg_refserver.stop()
    try:
        entries = await console.outbox.enqueue_many(requests)
        report = await console.sender.drain()
        assert report.offline and report.applied == 0
        counts = await console.outbox.counts()
        assert counts[OutboxState.QUEUED] == 1000 and counts[OutboxState.SENDING] == 0
    finally:
        pg_refserver.start(timeout_s=120)
    await settle(console, timeout_s=90)
    counts = await console.outbox.counts()
    assert counts[OutboxState.APPLIED] == 1000, counts
    audit = audit_counts_by_key(pg_refserver.base_url, {e.idempotency_key for e in entries})
    assert sorted(set(audit.values())) == [1]
    final = {r["id"]: r for r in users_in(pg_cluster, 1, 560)}
    for target in targets:
        assert final[target["id"]]["version"] == target["version"] + 2


async def test_a_bulk_ban_is_dry_run_on_the_replica_then_queued(
    console: Console, pg_cluster: PgCluster, pg_refserver: RefServer, replica_urls: dict[str, tuple[str, ...]]
) -> None:
    active = [t["id"] for t in users_in(pg_cluster, 860, 879)[:3]]
    [banned] = primary_rows(pg_cluster, "users", "SELECT id FROM users WHERE status = 'banned' LIMIT 1")
    replicas = ReplicaSet([ReplicaConfig("users", replica_urls["users"])])
    actions = AdminActions(console.outbox, Lookups(replicas), sender=console.sender)
    try:
        summary = await actions.dry_run(
            EntityType.USER, [*active, banned["id"], 999_999], "ban", "fraud ring"
        )
    finally:
        await replicas.aclose()
    assert (
        summary.describe() == "Ban: 3 will change, 1 already in a state where it does not apply, 1 not found"
    )
    assert await console.outbox.open_count() == 0  # a dry run queues nothing
    entries = await actions.queue_bulk(summary)
    assert [int(e.entity.id) for e in entries] == active
    await settle(console)
    assert {(await console.outbox.get(e.id)).state for e in entries} == {OutboxState.APPLIED}
    final = primary_rows(pg_cluster, "users", "SELECT status FROM users WHERE id = ANY(%s)", (active,))
    assert {r["status"] for r in final} == {"banned"}
    assert set(audit_counts_by_key(pg_refserver.base_url, {e.idempotency_key for e in entries}).values()) == {
        1
    }


async def test_vendor_and_product_moderation_through_the_outbox(
    console: Console, pg_cluster: PgCluster
) -> None:
    [vendor] = primary_rows(
        pg_cluster,
        "marketplace",
        "SELECT id, version FROM vendors WHERE status = 'approved' ORDER BY id LIMIT 1",
    )
    pending = primary_rows(
        pg_cluster,
        "marketplace",
        "SELECT id, version FROM products WHERE status = 'pending' AND NOT flagged ORDER BY id LIMIT 2",
    )
    [flagged] = primary_rows(
        pg_cluster,
        "marketplace",
        "SELECT id, version FROM products WHERE status = 'approved' AND flagged ORDER BY id LIMIT 1",
    )
    vendor_ref = EntityRef(EntityType.VENDOR, str(vendor["id"]))

    def product(row: dict) -> EntityRef:
        return EntityRef(EntityType.PRODUCT, str(row["id"]))

    await console.outbox.enqueue_many(
        [
            ActionRequest(
                vendor_ref, "set_commission", "negotiated rate", {"commission_pct": 12.5}, vendor["version"]
            ),
            ActionRequest(vendor_ref, "suspend", "late shipments"),
            ActionRequest(
                product(pending[0]), "approve", "meets policy", expected_version=pending[0]["version"]
            ),
            ActionRequest(
                product(pending[1]), "reject", "counterfeit", expected_version=pending[1]["version"]
            ),
            ActionRequest(
                product(flagged), "approve", "flag reviewed, fine", expected_version=flagged["version"]
            ),
        ]
    )
    await settle(console)
    counts = await console.outbox.counts()
    assert counts[OutboxState.APPLIED] == 5, counts
    [v] = primary_rows(
        pg_cluster, "marketplace", "SELECT status, commission_pct FROM vendors WHERE id = %s", (vendor["id"],)
    )
    assert v == {"status": "suspended", "commission_pct": 12.5}
    ids = [pending[0]["id"], pending[1]["id"], flagged["id"]]
    rows = {
        r["id"]: (r["status"], r["flagged"])
        for r in primary_rows(
            pg_cluster, "marketplace", "SELECT id, status, flagged FROM products WHERE id = ANY(%s)", (ids,)
        )
    }
    assert rows == {ids[0]: ("approved", False), ids[1]: ("rejected", False), ids[2]: ("approved", False)}
