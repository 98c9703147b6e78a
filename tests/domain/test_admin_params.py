"""The parameters of the newer admin actions are checked before anything is queued."""

from __future__ import annotations

import pytest

from nexus_console.domain.admin import (
    ActionError,
    ActionRequest,
    EntityRef,
    EntityType,
    spec_for,
    validate_action,
)
from nexus_console.domain.admin_params import describe_access, platform_access
from nexus_console.domain.lookups import AccountFootprint, MergePreview

USER = EntityRef(EntityType.USER, "7")


def request(action: str, **params: object) -> ActionRequest:
    return ActionRequest(USER, action, "because", params)


def test_a_grant_names_a_platform_and_one_of_its_roles() -> None:
    assert validate_action(request("grant_access", platform="nexus", role="analyst")).params == {
        "platform": "nexus",
        "role": "analyst",
    }
    with pytest.raises(ActionError, match="editor, reviewer, admin"):
        validate_action(request("grant_access", platform="workstation", role="analyst"))
    with pytest.raises(ActionError, match="platform must be one of"):
        validate_action(request("grant_access", platform="intranet", role="admin"))


def test_a_merge_needs_another_account() -> None:
    assert validate_action(request("merge", into_user_id="42")).params == {"into_user_id": 42}
    with pytest.raises(ActionError, match="itself"):
        validate_action(request("merge", into_user_id=7))
    with pytest.raises(ActionError, match="user id"):
        validate_action(request("merge", into_user_id="ann@example.com"))


def test_a_vendor_rejection_needs_feedback_and_an_approval_may_carry_it() -> None:
    vendor = EntityRef(EntityType.VENDOR, "3")
    with pytest.raises(ActionError, match="needs feedback"):
        validate_action(ActionRequest(vendor, "reject", "docs missing", {}))
    approved = validate_action(ActionRequest(vendor, "approve", "fine", {"feedback": "  Welcome   aboard "}))
    assert approved.params == {"feedback": "Welcome aboard"}
    assert validate_action(ActionRequest(vendor, "approve", "fine", {})).params == {}


def test_actions_with_parameters_are_never_offered_in_bulk() -> None:
    assert not spec_for(EntityType.USER, "merge").bulk
    assert not spec_for(EntityType.USER, "grant_access").bulk
    assert not spec_for(EntityType.VENDOR, "reject").bulk
    assert spec_for(EntityType.CONTENT, "hide").bulk


def test_revoke_and_clear_flag_apply_only_when_there_is_something_to_take_away() -> None:
    revoke = spec_for(EntityType.USER, "revoke_access")
    assert not revoke.applies_to({"status": "active", "platform_access": None})
    assert revoke.applies_to({"status": "active", "platform_access": '{"nexus": "viewer"}'})
    clear = spec_for(EntityType.CONTENT, "clear_flag")
    assert not clear.applies_to({"status": "published", "flagged": False})
    assert clear.applies_to({"status": "hidden", "flagged": True})


def test_platform_access_reads_as_words() -> None:
    row = {"platform_access": '{"workstation": "editor", "nexus": "viewer"}'}
    assert platform_access(row) == {"workstation": "editor", "nexus": "viewer"}
    assert describe_access(row) == "Nexus: viewer · Workstation: editor"
    assert describe_access({"platform_access": None}) == "consumer app only"
    assert describe_access({"platform_access": "not json"}) == "consumer app only"


def test_a_merge_preview_says_what_moves_and_what_cannot_be_merged() -> None:
    duplicate = AccountFootprint({"id": 7, "status": "active"}, 12, 3, 5)
    target = AccountFootprint({"id": 42, "status": "active"}, 1, 0, 0)
    preview = MergePreview(duplicate, target)
    assert preview.problem() is None
    assert preview.moves().startswith("12 sync sessions and 3 searches move to user 42; 5 orders stay")
    banned = MergePreview(duplicate, AccountFootprint({"id": 42, "status": "banned"}, 0, 0, 0))
    assert banned.problem() == "That account is banned: merge into an active account."
    assert MergePreview(duplicate, AccountFootprint(None, 0, 0, None)).problem() is not None


def test_subject_links_live_under_a_dashed_api_path() -> None:
    assert EntityType.SUBJECT_LINK.collection == "subject-links"
    assert EntityType.CONTENT.collection == "contents"
    assert EntityType.USER.collection == "users"
