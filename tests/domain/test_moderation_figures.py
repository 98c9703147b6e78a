"""The Compliance pane's moderation figures from the API's document: a row per moderated kind in words, and
the month's decisions in a sentence (or that there were none)."""

from __future__ import annotations

from nexus_console.domain.compliance import moderation_decisions, moderation_table

BODY = {
    "generated_at": "2026-12-07T12:00:00Z",
    "kinds": [
        {
            "kind": "product",
            "flagged_waiting": 12,
            "oldest_flagged_created_at": "2026-10-01T08:00:00Z",
            "reasons": [{"reason": "counterfeit", "count": 7}, {"reason": "unspecified", "count": 5}],
            "by_status": {"pending": 40, "approved": 900, "removed": 3},
        },
        {
            "kind": "content",
            "flagged_waiting": 0,
            "oldest_flagged_created_at": None,
            "reasons": [],
            "by_status": {"published": 1200},
        },
    ],
    "decisions_30d": [
        {"kind": "product", "action": "product.approve", "count": 4},
        {"kind": "product", "action": "product.remove", "count": 1},
    ],
}


def test_each_moderated_kind_is_a_row_in_words() -> None:
    table = moderation_table(BODY)
    assert table.rows == (
        (
            "Marketplace products",
            12,
            "2026-10-01",
            "counterfeit 7, unspecified 5",
            "approved 900, pending 40, removed 3",
        ),
        ("Workstation content", 0, "—", "—", "published 1,200"),
    )


def test_the_month_s_decisions_are_one_sentence() -> None:
    assert moderation_decisions(BODY) == (
        "<b>Moderation</b> · decisions in the last 30 days: 4 product approve, 1 product remove"
    )
    assert "no decisions" in moderation_decisions({"kinds": [], "decisions_30d": []})
