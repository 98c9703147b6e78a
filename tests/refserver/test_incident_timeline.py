"""An incident's timeline (notes at a chosen time, hiding, pinning, editing), linked alerts, the
post-mortem, and the audit trail of every incident write."""

from __future__ import annotations

from datetime import timedelta

from tests.refserver.conftest import new_key
from tests.refserver.incident_support import declare, minutes_from_now, parse, rfc3339, timeline, write


def add_note(client, incident: dict, version: int | None = None, **fields: object):  # type: ignore[no-untyped-def]
    body = {"kind": "note", "text": "looked at the dashboards", **fields}
    path = f"/incidents/{incident['id']}/timeline"
    return write(client, "POST", path, incident["version"] if version is None else version, body)


def test_notes_with_a_chosen_time_sort_into_place_and_bump_the_incident_version(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = declare(analyst)
    declared_at = parse(incident["created_at"])
    early = rfc3339(declared_at - timedelta(minutes=10))
    first = add_note(analyst, incident, text="customers reported errors", at=early)
    assert first.status_code == 201
    assert first.headers["etag"] == '"v2"'
    entry = first.json()
    assert entry["at"] == early and entry["kind"] == "note" and entry["author"] == "analyst@nexus.test"
    assert parse(entry["created_at"]) >= declared_at and entry["edited_at"] is None
    soon = add_note(
        analyst, incident, version=2, kind="action", text="restarting", at=rfc3339(minutes_from_now(1))
    )
    assert soon.status_code == 201
    now = add_note(analyst, incident, version=3, kind="custom", text="deploy 2.4.1 rolled back", ref="deploy")
    assert now.status_code == 201 and now.json()["ref"] == "deploy"
    texts = [e["text"] for e in timeline(analyst, incident["id"])]
    assert texts == ["customers reported errors", "declared", "deploy 2.4.1 rolled back", "restarting"]
    assert analyst.get(f"/incidents/{incident['id']}").json()["version"] == 4


def test_notes_need_the_incidents_current_version_and_no_future_time(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = declare(analyst)
    path = f"/incidents/{incident['id']}/timeline"
    assert write(analyst, "POST", path, None, {"kind": "note", "text": "x"}).status_code == 428
    assert write(analyst, "POST", path, 7, {"kind": "note", "text": "x"}).status_code == 412
    ahead = add_note(analyst, incident, at=rfc3339(minutes_from_now(6)))
    assert ahead.status_code == 422 and "more than 5 minutes in the future" in ahead.json()["detail"]
    assert add_note(analyst, incident, kind="status").status_code == 422  # the server writes those
    assert [e["kind"] for e in timeline(analyst, incident["id"])] == ["status"]


def test_a_replayed_note_returns_the_same_entry_and_adds_nothing(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = declare(analyst)
    path = f"/incidents/{incident['id']}/timeline"
    key = new_key()
    note = {"kind": "note", "text": "rolled back 2.4.1", "ref": "deploy-2.4.1"}
    first = write(analyst, "POST", path, 1, note, key=key)
    # the retry still carries the version it was first sent with: it is a replay, not a stale write
    second = write(analyst, "POST", path, 1, note, key=key)
    assert first.status_code == second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json() and second.headers["etag"] == first.headers["etag"] == '"v2"'
    notes = [e for e in timeline(analyst, incident["id"]) if e["kind"] == "note"]
    assert [n["id"] for n in notes] == [first.json()["id"]]
    assert analyst.get(f"/incidents/{incident['id']}").json()["version"] == 2
    other_body = write(analyst, "POST", path, 2, {**note, "text": "something else"}, key=key)
    assert other_body.status_code == 422


def test_hidden_entries_are_left_out_unless_asked_for_and_any_entry_can_be_pinned(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = declare(analyst, alert_ids=[41])
    alert_entry = timeline(analyst, incident["id"])[1]
    path = f"/incidents/{incident['id']}/timeline/{alert_entry['id']}"
    hidden = write(analyst, "PATCH", path, 1, {"hidden": True, "pinned": True})
    assert hidden.status_code == 200 and hidden.headers["etag"] == '"v2"'
    assert hidden.json()["hidden"] is True and hidden.json()["pinned"] is True
    assert hidden.json()["edited_at"] is None  # flags are not an edit of what it says
    assert [e["kind"] for e in timeline(analyst, incident["id"])] == ["status"]
    everything = timeline(analyst, incident["id"], include_hidden="true")
    assert [(e["kind"], e["hidden"], e["pinned"]) for e in everything] == [
        ("status", False, False),
        ("alert", True, True),
    ]
    shown = write(analyst, "PATCH", path, 2, {"hidden": False})
    assert shown.json()["hidden"] is False and shown.json()["pinned"] is True
    assert len(timeline(analyst, incident["id"])) == 2


def test_only_written_entries_can_change_their_text_or_time(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = declare(analyst)
    status_entry = timeline(analyst, incident["id"])[0]
    base = f"/incidents/{incident['id']}/timeline"
    refused = write(analyst, "PATCH", f"{base}/{status_entry['id']}", 1, {"text": "opened"})
    assert refused.status_code == 409
    assert "only note, custom, action entries can be edited" in refused.json()["detail"]
    note = add_note(analyst, incident).json()
    earlier = rfc3339(parse(note["at"]) - timedelta(hours=1))
    edited = write(
        analyst, "PATCH", f"{base}/{note['id']}", 2, {"text": "checked the dashboards", "at": earlier}
    )
    assert edited.status_code == 200
    assert edited.json()["text"] == "checked the dashboards" and edited.json()["at"] == earlier
    assert edited.json()["edited_at"] is not None and edited.json()["created_at"] == note["created_at"]
    assert [e["id"] for e in timeline(analyst, incident["id"])] == [note["id"], status_entry["id"]]
    assert write(analyst, "PATCH", f"{base}/{note['id']}", 3, {}).status_code == 422
    elsewhere = declare(analyst)
    foreign = write(
        analyst, "PATCH", f"/incidents/{elsewhere['id']}/timeline/{note['id']}", 1, {"pinned": True}
    )
    assert foreign.status_code == 404


def test_alerts_are_linked_once_and_unlinked_on_the_timeline(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = declare(analyst, alert_ids=[3])
    base = f"/incidents/{incident['id']}/alerts"
    linked = write(analyst, "POST", base, 1, {"alert_id": 5})
    assert linked.status_code == 200 and linked.headers["etag"] == '"v2"'
    assert linked.json()["alert_ids"] == [3, 5]
    again = write(analyst, "POST", base, 2, {"alert_id": 5})
    assert again.status_code == 409 and again.json()["detail"] == (
        f"alert 5 is already linked to incident {incident['id']}"
    )
    unlinked = write(analyst, "DELETE", f"{base}/3", 2)
    assert unlinked.status_code == 200 and unlinked.json()["alert_ids"] == [5]
    assert unlinked.headers["etag"] == '"v3"'
    assert write(analyst, "DELETE", f"{base}/3", 3).status_code == 404
    assert write(analyst, "DELETE", f"{base}/5", None).status_code == 428
    entries = [(e["kind"], e["text"], e["ref"]) for e in timeline(analyst, incident["id"])]
    assert entries[1:] == [
        ("alert", "linked alert 3", "3"),
        ("alert", "linked alert 5", "5"),
        ("alert", "unlinked alert 3", "3"),
    ]


def test_a_postmortem_starts_empty_at_v0_and_a_stale_save_is_refused(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = declare(analyst)
    path = f"/incidents/{incident['id']}/postmortem"
    empty = analyst.get(path)
    assert empty.status_code == 200 and empty.headers["etag"] == '"v0"'
    assert empty.json() == {
        "incident_id": incident["id"],
        "owner": None,
        "summary": "",
        "impact": "",
        "root_cause": "",
        "went_well": "",
        "went_badly": "",
        "action_items": [],
        "timeline_entry_ids": [],
        "version": 0,
        "updated_by": None,
        "updated_at": None,
    }
    entry_id = timeline(analyst, incident["id"])[0]["id"]
    document = {
        "owner": "analyst@nexus.test",
        "summary": "Checkout was slow for 20 minutes.",
        "impact": "3 % of orders failed.",
        "root_cause": "A missing index.",
        "went_well": "Fast rollback.",
        "went_badly": "Paging was late.",
        "action_items": [
            {"text": "Add the index", "owner": "dba@nexus.test", "due": "2026-12-20", "done": False},
            {"text": "Page on p95", "owner": None, "due": None, "done": True},
        ],
        "timeline_entry_ids": [entry_id],
    }
    assert write(analyst, "PUT", path, None, document).status_code == 428
    saved = write(analyst, "PUT", path, 0, document)
    assert saved.status_code == 200 and saved.headers["etag"] == '"v1"'
    assert saved.json() == {
        **document,
        "incident_id": incident["id"],
        "version": 1,
        "updated_by": "analyst@nexus.test",
        "updated_at": saved.json()["updated_at"],
    }
    assert analyst.get(path).json() == saved.json()
    stale = write(analyst, "PUT", path, 0, {**document, "summary": "overwritten"})
    assert stale.status_code == 412
    assert analyst.get(path).json()["summary"] == document["summary"]
    assert write(analyst, "PUT", path, 1, {**document, "summary": "second"}).headers["etag"] == '"v2"'
    # the post-mortem has its own version: the incident's is untouched
    assert analyst.get(f"/incidents/{incident['id']}").json()["version"] == 1


def test_postmortem_saves_are_checked_against_the_limits_and_the_timeline(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = declare(analyst)
    path = f"/incidents/{incident['id']}/postmortem"
    too_many = {"action_items": [{"text": f"item {n}"} for n in range(201)]}
    assert write(analyst, "PUT", path, 0, too_many).status_code == 422
    assert write(analyst, "PUT", path, 0, {"root_cause": "x" * 20001}).status_code == 422
    assert (
        write(analyst, "PUT", path, 0, {"action_items": [{"text": "a", "due": "20 Dec"}]}).status_code == 422
    )
    foreign = write(analyst, "PUT", path, 0, {"timeline_entry_ids": [2**31 - 1]})
    assert foreign.status_code == 422 and "not on incident" in foreign.json()["detail"]
    assert analyst.get("/incidents/999999/postmortem").status_code == 404
    assert analyst.get(path).json()["version"] == 0


def test_every_incident_write_is_in_the_audit_trail(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst, admin = api_as("analyst"), api_as("admin")
    incident = declare(analyst)
    number = incident["id"]
    write(analyst, "PATCH", f"/incidents/{number}", 1, {"status": "investigating"})
    note = add_note(analyst, incident, version=2).json()
    write(analyst, "PATCH", f"/incidents/{number}/timeline/{note['id']}", 3, {"pinned": True})
    write(analyst, "POST", f"/incidents/{number}/alerts", 4, {"alert_id": 12})
    write(analyst, "DELETE", f"/incidents/{number}/alerts/12", 5)
    write(analyst, "PUT", f"/incidents/{number}/postmortem", 0, {"summary": "done"})
    audit = admin.get("/audit", params={"entity_type": "incident", "entity_id": str(number)}).json()["items"]
    assert [entry["action"] for entry in reversed(audit)] == [
        "incident.create",
        "incident.update",
        "incident.note",
        "incident.timeline_edit",
        "incident.alert_link",
        "incident.alert_unlink",
        "incident.postmortem",
    ]
    assert {entry["actor"] for entry in audit} == {"analyst@nexus.test"}
    assert all(entry["idempotency_key"] for entry in audit)
    update = next(entry for entry in audit if entry["action"] == "incident.update")
    assert update["before"]["status"] == "triage" and update["after"]["status"] == "investigating"
