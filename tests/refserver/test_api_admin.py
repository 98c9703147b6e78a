"""Admin API: keyset lists, search, ETags and 304, and versioned PATCHes with If-Match."""

from __future__ import annotations

import httpx

from tests.refserver.conftest import new_key

PROBLEM = "application/problem+json"


def first_user(admin: httpx.Client, status: str, after_id: int) -> dict:
    """A user of the given status past `after_id`, so each test works on users no other test touches."""
    page = admin.get("/admin/users", params={"status": status, "cursor": f"c{after_id}", "limit": 1}).json()
    assert page["items"], f"no {status} user after {after_id}"
    return page["items"][0]


def test_user_list_pages_with_keyset_cursors_and_no_overlap(admin: httpx.Client) -> None:
    seen: list[int] = []
    cursor = None
    for _ in range(3):
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = admin.get("/admin/users", params=params).json()
        assert len(page["items"]) == 7
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        assert cursor
    assert seen == sorted(seen) and len(set(seen)) == 21
    total = admin.get("/admin/users", params={"limit": 1}).json()["estimated_total"]
    assert total == 1000  # the session server runs --scale 0.02


def test_last_page_has_no_cursor(admin: httpx.Client) -> None:
    page = admin.get("/admin/vendors", params={"limit": 500}).json()
    assert page["next_cursor"] is None
    assert len(page["items"]) == page["estimated_total"]


def test_status_filter_and_search(admin: httpx.Client) -> None:
    banned = admin.get("/admin/users", params={"status": "banned", "limit": 50}).json()
    assert banned["items"] and all(user["status"] == "banned" for user in banned["items"])

    someone = first_user(admin, "active", 500)
    by_email = admin.get("/admin/users", params={"q": someone["email"][:-3]}).json()["items"]
    assert someone["id"] in [user["id"] for user in by_email]
    surname = someone["name"].split()[-1]
    by_name = admin.get("/admin/users", params={"q": surname.lower(), "limit": 500}).json()["items"]
    assert by_name and all(surname.lower() in user["name"].lower() for user in by_name)
    by_id = admin.get("/admin/users", params={"q": str(someone["id"])}).json()["items"]
    assert someone["id"] in [user["id"] for user in by_id]
    nothing = admin.get("/admin/users", params={"q": "zzz-no-such-person"}).json()
    assert nothing == {"items": [], "next_cursor": None, "estimated_total": 0}


def test_product_queues(api_as) -> None:  # type: ignore[no-untyped-def]
    moderator = api_as("moderator")
    flagged = moderator.get("/admin/products", params={"queue": "flagged", "limit": 500}).json()["items"]
    assert flagged and all(product["flagged"] for product in flagged)
    pending = moderator.get("/admin/products", params={"queue": "pending", "limit": 500}).json()["items"]
    assert pending and all(product["status"] == "pending" for product in pending)


def test_a_forged_cursor_is_a_422_problem(admin: httpx.Client) -> None:
    response = admin.get("/admin/users", params={"cursor": "not-a-cursor"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_get_sends_a_version_etag_and_honours_if_none_match(admin: httpx.Client) -> None:
    user = first_user(admin, "active", 100)
    response = admin.get(f"/admin/users/{user['id']}")
    assert response.headers["etag"] == f'"v{user["version"]}"'
    again = admin.get(f"/admin/users/{user['id']}", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    other = admin.get(f"/admin/users/{user['id']}", headers={"If-None-Match": '"v999"'})
    assert other.status_code == 200


def test_list_and_monitoring_etags_give_304(admin: httpx.Client) -> None:
    for path in ("/admin/vendors?limit=5", "/monitoring/services", "/alerts", "/incidents"):
        first = admin.get(path)
        assert first.status_code == 200, path
        second = admin.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert second.status_code == 304, path


def test_unknown_entity_is_a_404_problem(admin: httpx.Client) -> None:
    response = admin.get("/admin/users/999999")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "no user 999999"


def test_patch_without_if_match_is_428(admin: httpx.Client) -> None:
    user = first_user(admin, "active", 110)
    response = admin.patch(
        f"/admin/users/{user['id']}",
        json={"action": "suspend", "reason": "spam"},
        headers={"Idempotency-Key": new_key()},
    )
    assert response.status_code == 428
    assert response.headers["content-type"] == PROBLEM
    assert admin.get(f"/admin/users/{user['id']}").json()["status"] == "active"


def test_patch_with_a_stale_version_is_412_and_changes_nothing(admin: httpx.Client) -> None:
    user = first_user(admin, "active", 120)
    stale = f'"v{user["version"]}"'
    suspended = admin.patch(
        f"/admin/users/{user['id']}",
        json={"action": "suspend", "reason": "spam"},
        headers={"Idempotency-Key": new_key(), "If-Match": stale},
    )
    assert suspended.status_code == 200
    assert suspended.json()["status"] == "suspended"
    assert suspended.headers["etag"] == f'"v{user["version"] + 1}"'

    response = admin.patch(
        f"/admin/users/{user['id']}",
        json={"action": "unsuspend", "reason": "appeal"},
        headers={"Idempotency-Key": new_key(), "If-Match": stale},
    )
    assert response.status_code == 412
    assert response.headers["content-type"] == PROBLEM
    assert admin.get(f"/admin/users/{user['id']}").json()["status"] == "suspended"


def test_a_transition_that_no_longer_applies_is_409(admin: httpx.Client) -> None:
    user = first_user(admin, "active", 130)
    banned = admin.patch(
        f"/admin/users/{user['id']}",
        json={"action": "ban", "reason": "fraud"},
        headers={"Idempotency-Key": new_key(), "If-Match": f'"v{user["version"]}"'},
    )
    assert banned.status_code == 200
    again = admin.patch(
        f"/admin/users/{user['id']}",
        json={"action": "ban", "reason": "fraud"},
        headers={"Idempotency-Key": new_key(), "If-Match": banned.headers["etag"]},
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    assert "status banned" in again.json()["detail"]


def test_an_unknown_action_is_422(admin: httpx.Client) -> None:
    user = first_user(admin, "active", 140)
    response = admin.patch(
        f"/admin/users/{user['id']}",
        json={"action": "delete_forever", "reason": "x"},
        headers={"Idempotency-Key": new_key(), "If-Match": f'"v{user["version"]}"'},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_vendor_commission_change_needs_a_value_and_is_audited(admin: httpx.Client) -> None:
    vendor = admin.get("/admin/vendors", params={"status": "approved", "limit": 1}).json()["items"][0]
    headers = {"If-Match": f'"v{vendor["version"]}"'}
    missing = admin.patch(
        f"/admin/vendors/{vendor['id']}",
        json={"action": "set_commission", "reason": "new deal"},
        headers={**headers, "Idempotency-Key": new_key()},
    )
    assert missing.status_code == 422
    key = new_key()
    changed = admin.patch(
        f"/admin/vendors/{vendor['id']}",
        json={"action": "set_commission", "reason": "new deal", "commission_pct": 7.5},
        headers={**headers, "Idempotency-Key": key},
    )
    assert changed.status_code == 200
    assert changed.json()["commission_pct"] == 7.5
    entries = admin.get(
        "/audit",
        params={"entity_type": "vendor", "entity_id": str(vendor["id"]), "action": "vendor.set_commission"},
    ).json()["items"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["actor"] == "admin@nexus.test"
    assert entry["reason"] == "new deal"
    assert entry["idempotency_key"] == key
    assert entry["before"]["commission_pct"] == vendor["commission_pct"]
    assert entry["after"]["commission_pct"] == 7.5


def test_moderator_approves_a_pending_product_but_cannot_touch_users(api_as) -> None:  # type: ignore[no-untyped-def]
    moderator = api_as("moderator")
    product = moderator.get("/admin/products", params={"queue": "pending", "limit": 1}).json()["items"][0]
    approved = moderator.patch(
        f"/admin/products/{product['id']}",
        json={"action": "approve", "reason": "looks fine"},
        headers={"Idempotency-Key": new_key(), "If-Match": f'"v{product["version"]}"'},
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    user = moderator.get("/admin/users", params={"limit": 1}).json()["items"][0]
    denied = moderator.patch(
        f"/admin/users/{user['id']}",
        json={"action": "ban", "reason": "x"},
        headers={"Idempotency-Key": new_key(), "If-Match": f'"v{user["version"]}"'},
    )
    assert denied.status_code == 403
    assert denied.json()["required_role"] == "admin"


def test_unknown_route_and_wrong_method_are_problems(admin: httpx.Client) -> None:
    missing = admin.get("/admin/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    wrong = admin.delete("/admin/users/1")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == PROBLEM
    assert set(wrong.headers["allow"].split(", ")) >= {"GET", "PATCH"}


def test_analytics_kpis_agree_with_the_admin_lists(api_as) -> None:  # type: ignore[no-untyped-def]
    finance = api_as("finance")
    users = finance.get("/analytics/users").json()
    assert users["total_users"] == 1000
    merged = api_as("admin").get("/admin/users", params={"status": "merged", "limit": 1}).json()
    by_status = users["active_users"] + users["suspended_users"] + users["banned_users"]
    assert by_status + merged["estimated_total"] == 1000  # a merged duplicate is no longer a user
    assert 0 < users["dau"] <= users["wau"] <= users["mau"] <= 1000
    assert sum(item["count"] for item in users["by_country"]) == 1000
    vendors = finance.get("/analytics/vendors").json()
    assert sum(item["count"] for item in vendors["by_status"]) == vendors["total_vendors"]
    revenue = finance.get("/analytics/revenue").json()
    assert revenue["revenue_cents_30d"] > 0
    assert sum(c["revenue_cents"] for c in revenue["by_channel"]) == revenue["revenue_cents_30d"]
    content = finance.get("/analytics/content").json()
    assert 0 < content["detection_rate"] <= 1
