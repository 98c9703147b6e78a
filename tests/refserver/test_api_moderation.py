"""The rest of seed 000's admin over the API: platform access and roles, merging duplicate accounts,
vendor review with feedback, content moderation and product-subject-link moderation."""

from __future__ import annotations

import httpx

from tests.refserver.conftest import new_key
from tests.refserver.test_api_admin import first_user


def patch(client: httpx.Client, path: str, row: dict, body: dict) -> httpx.Response:
    return client.patch(
        path, json=body, headers={"Idempotency-Key": new_key(), "If-Match": f'"v{row["version"]}"'}
    )


def audit_actions(admin: httpx.Client, entity_type: str, entity_id: int) -> list[str]:
    entries = admin.get("/audit", params={"entity_type": entity_type, "entity_id": str(entity_id)}).json()
    return [entry["action"] for entry in entries["items"]]


def test_granting_and_revoking_platform_access_changes_the_users_roles(admin: httpx.Client) -> None:
    user = first_user(admin, "active", 940)
    granted = patch(
        admin,
        f"/admin/users/{user['id']}",
        user,
        {
            "action": "grant_access",
            "reason": "joins the content team",
            "platform": "workstation",
            "role": "editor",
        },
    )
    assert granted.status_code == 200
    assert granted.json()["platform_access"] == '{"workstation": "editor"}'
    same_again = patch(
        admin,
        f"/admin/users/{user['id']}",
        granted.json(),
        {"action": "grant_access", "reason": "again", "platform": "workstation", "role": "editor"},
    )
    assert same_again.status_code == 409
    revoked = patch(
        admin,
        f"/admin/users/{user['id']}",
        granted.json(),
        {"action": "revoke_access", "reason": "left the team", "platform": "workstation"},
    )
    assert revoked.status_code == 200
    assert revoked.json()["platform_access"] is None
    assert {"user.grant_access", "user.revoke_access"} <= set(audit_actions(admin, "user", user["id"]))


def test_a_role_the_platform_does_not_have_is_refused_with_the_roles_it_has(admin: httpx.Client) -> None:
    user = first_user(admin, "active", 950)
    response = patch(
        admin,
        f"/admin/users/{user['id']}",
        user,
        {"action": "grant_access", "reason": "x", "platform": "nexus", "role": "superuser"},
    )
    assert response.status_code == 422
    assert "viewer, analyst, moderator, finance, admin" in response.json()["detail"]


def test_merging_a_duplicate_moves_its_sessions_and_marks_it_merged(admin: httpx.Client) -> None:
    duplicate = first_user(admin, "active", 960)
    target = first_user(admin, "active", duplicate["id"])
    merged = patch(
        admin,
        f"/admin/users/{duplicate['id']}",
        duplicate,
        {"action": "merge", "reason": "same person, two sign-ups", "into_user_id": target["id"]},
    )
    assert merged.status_code == 200
    assert merged.json()["status"] == "merged"
    assert merged.json()["merged_into"] == target["id"]
    assert "user.merge" in audit_actions(admin, "user", duplicate["id"])
    merged_list = admin.get("/admin/users", params={"status": "merged", "limit": 500}).json()["items"]
    assert duplicate["id"] in [user["id"] for user in merged_list]


def test_a_merge_into_itself_or_a_missing_account_is_refused(admin: httpx.Client) -> None:
    user = first_user(admin, "active", 980)
    itself = patch(
        admin,
        f"/admin/users/{user['id']}",
        user,
        {"action": "merge", "reason": "x", "into_user_id": user["id"]},
    )
    assert itself.status_code == 422 and "itself" in itself.json()["detail"]
    missing = patch(
        admin, f"/admin/users/{user['id']}", user, {"action": "merge", "reason": "x", "into_user_id": 999_999}
    )
    assert missing.status_code == 422 and "does not exist" in missing.json()["detail"]
    assert admin.get(f"/admin/users/{user['id']}").json()["status"] == "active"


def test_a_vendor_is_rejected_with_feedback_the_vendor_can_read(admin: httpx.Client) -> None:
    pending = admin.get("/admin/vendors", params={"status": "pending", "limit": 2}).json()["items"]
    first, second = pending[0], pending[1]
    no_feedback = patch(admin, f"/admin/vendors/{first['id']}", first, {"action": "reject", "reason": "x"})
    assert no_feedback.status_code == 422
    rejected = patch(
        admin,
        f"/admin/vendors/{first['id']}",
        first,
        {
            "action": "reject",
            "reason": "no tax id",
            "feedback": "Please add your VAT number and apply again.",
        },
    )
    assert rejected.status_code == 200
    assert rejected.json()["review_feedback"] == "Please add your VAT number and apply again."
    approved = patch(
        admin,
        f"/admin/vendors/{second['id']}",
        second,
        {"action": "approve", "reason": "documents fine", "feedback": "Welcome aboard."},
    )
    assert approved.json()["status"] == "approved"
    assert approved.json()["review_feedback"] == "Welcome aboard."


def test_a_moderator_hides_flagged_content_then_removes_it(api_as) -> None:  # type: ignore[no-untyped-def]
    moderator = api_as("moderator")
    flagged = moderator.get("/admin/contents", params={"queue": "flagged", "limit": 500}).json()["items"]
    assert flagged and all(item["flagged"] and item["status"] != "removed" for item in flagged)
    content = flagged[0]
    hidden = patch(
        moderator, f"/admin/contents/{content['id']}", content, {"action": "hide", "reason": "DMCA"}
    )
    assert hidden.status_code == 200 and hidden.json()["status"] == "hidden"
    removed = patch(
        moderator, f"/admin/contents/{content['id']}", hidden.json(), {"action": "remove", "reason": "upheld"}
    )
    assert removed.json()["status"] == "removed"
    still_flagged = moderator.get("/admin/contents", params={"queue": "flagged", "limit": 500}).json()[
        "items"
    ]
    assert content["id"] not in [item["id"] for item in still_flagged]


def test_clearing_a_flag_keeps_the_content_published(api_as) -> None:  # type: ignore[no-untyped-def]
    moderator = api_as("moderator")
    content = moderator.get("/admin/contents", params={"queue": "flagged", "limit": 500}).json()["items"][-1]
    cleared = patch(
        moderator, f"/admin/contents/{content['id']}", content, {"action": "clear_flag", "reason": "reviewed"}
    )
    assert cleared.json()["flagged"] is False and cleared.json()["status"] == content["status"]
    again = patch(
        moderator, f"/admin/contents/{content['id']}", cleared.json(), {"action": "clear_flag", "reason": "x"}
    )
    assert again.status_code == 409


def test_subject_links_are_approved_rejected_and_removed(api_as) -> None:  # type: ignore[no-untyped-def]
    moderator = api_as("moderator")
    pending = moderator.get("/admin/subject-links", params={"status": "pending", "limit": 3}).json()["items"]
    approve, reject, remove = pending
    assert (
        patch(
            moderator,
            f"/admin/subject-links/{approve['id']}",
            approve,
            {"action": "approve", "reason": "correct"},
        ).json()["status"]
        == "verified"
    )
    assert (
        patch(
            moderator,
            f"/admin/subject-links/{reject['id']}",
            reject,
            {"action": "reject", "reason": "wrong item"},
        ).json()["status"]
        == "rejected"
    )
    assert (
        patch(
            moderator,
            f"/admin/subject-links/{remove['id']}",
            remove,
            {"action": "remove", "reason": "low quality"},
        ).json()["status"]
        == "removed"
    )
    by_subject = moderator.get("/admin/subject-links", params={"q": approve["subject"][:4]}).json()["items"]
    assert approve["id"] in [link["id"] for link in by_subject]


def test_content_is_hidden_from_roles_without_content_access(api_as) -> None:  # type: ignore[no-untyped-def]
    finance = api_as("finance")
    response = finance.get("/admin/contents")
    assert response.status_code == 403
    assert response.json()["required_role"] == "moderator"
