"""Hash-chained evidence: an export verifies; a changed byte, a removed, added or reordered entry, a file cut
short and rows after the end each fail, naming the first entry that no longer matches."""

from __future__ import annotations

from nexus_console.domain.evidence_chain import chained_rows, verify_rows

COLUMNS = ("at", "actor", "action")


def export(count: int = 5) -> list[list[str]]:
    rows = [
        (f"2026-12-0{1 + i % 7}T10:00:00Z", "admin@nexus.test", f"user.reset_password #{i}")
        for i in range(count)
    ]
    return list(
        chained_rows("admin-audit", "2026-12-01", "2026-12-08", "2026-12-08T09:00:00+00:00", COLUMNS, rows)
    )


def test_a_complete_export_verifies_with_its_head() -> None:
    rows = export()
    result = verify_rows(rows)
    assert result.ok and result.entries == 5 and result.head == rows[-1][2]
    assert result.sentence() == f"Verified: 5 entries of admin-audit, complete; head {rows[-1][2]}."


def test_one_changed_byte_fails_at_that_entry() -> None:
    rows = export()
    rows[4][3] = rows[4][3].replace("#2", "#7")  # entry 3 (rows 0-1 are the description and the header)
    result = verify_rows(rows)
    assert not result.ok and result.failed_entry == 3 and result.entries == 2
    assert "entry 3 does not match its hash" in result.sentence()


def test_a_removed_entry_fails_where_it_was() -> None:
    rows = export()
    del rows[3]  # entry 2
    result = verify_rows(rows)
    assert (
        not result.ok and result.failed_entry == 2 and "entry 2 is missing or out of order" in result.problem
    )


def test_swapped_entries_fail_at_the_first_of_them() -> None:
    rows = export()
    rows[3], rows[4] = rows[4], rows[3]
    assert verify_rows(rows).failed_entry == 2


def test_a_file_cut_short_says_so() -> None:
    rows = export()[:-2]  # the last entry and END gone
    result = verify_rows(rows)
    assert not result.ok and "ends after entry 4 without its END row: it was cut short" in result.problem


def test_a_new_chain_over_edited_rows_verifies_but_has_another_head() -> None:
    original = export()
    rows = [(r[1], r[2], r[3]) for r in original[2:-1]]
    rows[0] = ("2026-12-01T10:00:00Z", "someone@else", rows[0][2])
    rewritten = list(
        chained_rows("admin-audit", "2026-12-01", "2026-12-08", "2026-12-08T09:00:00+00:00", COLUMNS, rows)
    )
    assert verify_rows(rewritten).ok and verify_rows(rewritten).head != verify_rows(original).head


def test_an_end_row_that_disagrees_or_rows_after_it_fail() -> None:
    rows = export()
    rows[-1][1] = "6"
    assert "the END row counts 6 entries, but the file has 5" in verify_rows(rows).problem
    rows = [*export(), ["1", "x", "y", "z", "h"]]
    assert verify_rows(rows).problem == "there are rows after the END row."


def test_a_file_that_is_not_evidence_is_refused() -> None:
    assert (
        verify_rows([["id", "name"], ["1", "x"]]).problem == "this is not a nexus-evidence-v1 evidence file."
    )
