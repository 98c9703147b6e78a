"""A conflict explained from the audit trail: the changes after the version an action expected."""

from __future__ import annotations

from nexus_console.domain.audit_changes import changes_since, fields_text


def entry(
    version: int, actor: str, action: str, before: dict, after: dict, reason: str | None = None
) -> dict:
    return {
        "at": "2026-12-06T14:02:11Z",
        "actor": actor,
        "action": action,
        "before": {**before, "version": version},
        "after": {**after, "version": version + 1},
        "reason": reason,
    }


def test_only_the_changes_after_the_expected_version_are_told_oldest_first() -> None:
    trail = [
        entry(6, "bo@nexus.test", "user.unsuspend", {"status": "suspended"}, {"status": "active"}),
        entry(4, "ann@nexus.test", "user.suspend", {"status": "active"}, {"status": "suspended"}),
        entry(5, "ann@nexus.test", "user.suspend", {"status": "active"}, {"status": "suspended"}, "spam"),
    ]
    lines = changes_since(trail, 5)
    assert len(lines) == 2
    assert lines[0].startswith("v5 → v6 · ")
    assert lines[0].endswith("ann@nexus.test · user.suspend (“spam”): status: active → suspended")
    assert lines[1].endswith("bo@nexus.test · user.unsuspend: status: suspended → active")


def test_a_record_reads_as_fields_not_json() -> None:
    assert fields_text({"status": "hidden", "flag_reason": None, "version": 3}) == (
        "flag_reason: —\nstatus: hidden\nversion: 3"
    )


def test_a_json_field_of_a_record_reads_as_words_too() -> None:
    assert (
        fields_text({"platform_access": '{"workstation": "editor"}'})
        == "platform_access: workstation: editor"
    )
