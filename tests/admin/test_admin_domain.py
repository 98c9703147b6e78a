"""The pure rules of admin actions: validation, dry runs, search classification, lag and catch-up."""

from __future__ import annotations

import pytest

from nexus_console.domain.admin import (
    ACTIONS,
    ActionError,
    ActionRequest,
    DryRunOutcome,
    EntityRef,
    EntityType,
    dry_run,
    validate_action,
)
from nexus_console.domain.replica_reads import (
    ReplicaCatchUp,
    RowFreshness,
    UserSearchKind,
    classify_user_query,
    escape_like,
    parse_lsn,
)

USER_7 = EntityRef(EntityType.USER, "7")


@pytest.mark.parametrize(
    ("entity_type", "action"),
    [
        (EntityType.USER, "suspend"),
        (EntityType.USER, "ban"),
        (EntityType.VENDOR, "reject"),
        (EntityType.VENDOR, "suspend"),
        (EntityType.VENDOR, "ban"),
        (EntityType.PRODUCT, "reject"),
        (EntityType.PRODUCT, "remove"),
    ],
)
def test_destructive_actions_need_a_reason(entity_type: EntityType, action: str) -> None:
    entity = EntityRef(entity_type, "1")
    with pytest.raises(ActionError, match="needs a reason"):
        validate_action(ActionRequest(entity, action, "   ", expected_version=1))
    params = {"feedback": "fix your tax id"} if (entity_type, action) == (EntityType.VENDOR, "reject") else {}
    ok = validate_action(ActionRequest(entity, action, "  spam\n account ", params, expected_version=1))
    assert ok.reason == "spam account"


def test_every_admin_action_needs_a_reason_because_the_api_audits_each_one() -> None:
    for (entity_type, action), spec in ACTIONS.items():
        if entity_type is EntityType.INCIDENT:
            continue  # a responder's change or note is its own record
        assert spec.requires_reason
        with pytest.raises(ActionError, match="needs a reason"):
            validate_action(ActionRequest(EntityRef(entity_type, "1"), action, None, expected_version=3))


def test_only_actions_that_take_something_away_are_destructive() -> None:
    destructive = {(t.value, a) for (t, a), spec in ACTIONS.items() if spec.destructive}
    assert destructive == {
        ("user", "suspend"),
        ("user", "ban"),
        ("vendor", "reject"),
        ("vendor", "suspend"),
        ("vendor", "ban"),
        ("product", "reject"),
        ("product", "remove"),
        ("user", "merge"),
        ("content", "remove"),
        ("subject_link", "reject"),
        ("subject_link", "remove"),
    }


def test_unknown_action_and_wrong_entity_are_refused() -> None:
    with pytest.raises(ActionError, match="has no action"):
        validate_action(ActionRequest(USER_7, "approve", "x", expected_version=1))
    with pytest.raises(ActionError, match="has no action"):
        validate_action(ActionRequest(EntityRef(EntityType.PRODUCT, "1"), "ban", "x", expected_version=1))


def test_commission_must_be_a_percentage_and_other_actions_take_no_parameters() -> None:
    vendor = EntityRef(EntityType.VENDOR, "3")
    for bad in (-1, 101, "10", True, None):
        with pytest.raises(ActionError, match="commission_pct"):
            validate_action(ActionRequest(vendor, "set_commission", "deal", {"commission_pct": bad}, 1))
    ok = validate_action(ActionRequest(vendor, "set_commission", "deal", {"commission_pct": 12}, 1))
    assert ok.body() == {"action": "set_commission", "reason": "deal", "commission_pct": 12.0}
    with pytest.raises(ActionError, match="takes no parameters"):
        validate_action(ActionRequest(USER_7, "unsuspend", "ok", {"commission_pct": 5}, 1))


def test_dry_run_separates_changes_no_ops_and_missing_ids() -> None:
    rows = {
        "1": {"id": 1, "status": "active", "version": 4},
        "2": {"id": 2, "status": "banned", "version": 2},
        "3": {"id": 3, "status": "suspended", "version": 9},
    }
    summary = dry_run(EntityType.USER, "ban", "fraud ring", ["1", "2", "3", "4", "1"], rows)
    outcomes = {item.entity.id: item.outcome for item in summary.items}
    assert outcomes == {
        "1": DryRunOutcome.WILL_APPLY,
        "2": DryRunOutcome.NO_CHANGE,
        "3": DryRunOutcome.WILL_APPLY,
        "4": DryRunOutcome.NOT_FOUND,
    }
    requests = summary.requests()
    assert [(r.entity.id, r.expected_version) for r in requests] == [("1", 4), ("3", 9)]
    assert (
        summary.describe() == "Ban: 2 will change, 1 already in a state where it does not apply, 1 not found"
    )


def test_dry_run_validates_before_looking_at_rows() -> None:
    with pytest.raises(ActionError, match="needs a reason"):
        dry_run(EntityType.USER, "ban", "", ["1"], {"1": {"status": "active", "version": 1}})


def test_verify_email_applies_only_to_unverified_users() -> None:
    rows = {
        "1": {"status": "active", "email_verified": True, "version": 1},
        "2": {"status": "active", "email_verified": False, "version": 1},
    }
    summary = dry_run(EntityType.USER, "verify_email", "checked by phone", ["1", "2"], rows)
    assert [i.outcome for i in summary.items] == [DryRunOutcome.NO_CHANGE, DryRunOutcome.WILL_APPLY]


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("42", UserSearchKind.ID),
        (" 42 ", UserSearchKind.ID),
        ("anna.berg@", UserSearchKind.EMAIL_PREFIX),
        ("anna.b", UserSearchKind.EMAIL_PREFIX),
        ("Anna Berg", UserSearchKind.NAME_SUBSTRING),
        ("Lindqvist", UserSearchKind.NAME_SUBSTRING),
        ("'; DROP TABLE users; --", UserSearchKind.NAME_SUBSTRING),
    ],
)
def test_one_search_box_understands_ids_emails_and_names(query: str, kind: UserSearchKind) -> None:
    assert classify_user_query(query) is kind


def test_like_wildcards_in_search_text_are_literal() -> None:
    assert escape_like("50%_off\\") == "50\\%\\_off\\\\"


def test_lsn_text_is_a_byte_position() -> None:
    assert parse_lsn("0/56A48F8") == 0x56A48F8
    assert parse_lsn("1/0") == 1 << 32
    assert parse_lsn(None) is None


def test_row_waits_for_replica_until_it_shows_the_applied_version() -> None:
    catch_up = ReplicaCatchUp()
    assert catch_up.observe(USER_7, 3) is RowFreshness.CURRENT
    catch_up.applied(USER_7, 4)
    assert catch_up.label(USER_7) == "applied — waiting for replica"
    assert catch_up.observe(USER_7, 3) is RowFreshness.WAITING_FOR_REPLICA
    assert catch_up.observe(USER_7, None) is RowFreshness.WAITING_FOR_REPLICA
    assert catch_up.observe(USER_7, 4) is RowFreshness.CURRENT
    assert catch_up.label(USER_7) is None
