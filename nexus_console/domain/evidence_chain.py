"""Evidence an auditor can check: rows in a hash chain, and the check.

An evidence file is CSV:

    nexus-evidence-v1, KIND, FROM, TO, GENERATED_AT      (what it is)
    seq, COLUMN..., chain_hash                           (the header)
    1, value..., H1                                      (an entry)
    ...
    END, COUNT, HEAD                                     (the end: how many entries, the last hash)

H0 is the SHA-256 of the first two rows; Hn = SHA-256(Hn-1 + the entry's cells), every cell joined with a
unit separator. Changing, removing, adding or reordering an entry breaks every hash from it on, so the check
names the first entry that no longer matches; a file cut short has no END row, or one whose count or head
disagrees. HEAD is also printed with the export (and on its PDF), so an auditor who keeps it can tell the
file they were given from one rewritten with a new chain.

Written by hand: a hash chain over rows is a loop over hashlib; the libraries for tamper-evident logs
(transparency logs, signed ledgers) need a server and keys this file does not have.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

FORMAT = "nexus-evidence-v1"
SEPARATOR = "\x1f"
END = "END"


def _digest(previous: str, cells: Sequence[str]) -> str:
    return hashlib.sha256((previous + SEPARATOR + SEPARATOR.join(cells)).encode("utf-8")).hexdigest()


def chained_rows(
    kind: str,
    date_from: str,
    date_to: str,
    generated_at: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
) -> Iterator[list[str]]:
    """The evidence file's rows, in order: what it is, the header, each entry with its hash, the end."""
    meta = [FORMAT, kind, date_from, date_to, generated_at]
    header = ["seq", *columns, "chain_hash"]
    yield meta
    yield header
    head = _digest("", [*meta, *header])
    count = 0
    for row in rows:
        count += 1
        cells = [str(count), *("" if value is None else str(value) for value in row)]
        head = _digest(head, cells)
        yield [*cells, head]
    yield [END, str(count), head]


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    entries: int  # entries that matched their hashes
    head: str  # the last hash that matched
    kind: str = ""
    problem: str = ""  # a sentence, when not ok
    failed_entry: int | None = None  # the first entry (1-based) that does not match

    def sentence(self) -> str:
        if self.ok:
            what = self.kind or "evidence"
            return f"Verified: {self.entries:,} entries of {what}, complete; head {self.head}."
        return f"Not verified: {self.problem}"


def verify_rows(rows: Iterable[Sequence[str]]) -> Verification:
    """Check an evidence file's rows (as read by csv.reader)."""
    iterator = iter(rows)
    meta, header = next(iterator, None), next(iterator, None)
    if not meta or meta[0] != FORMAT or not header or header[0] != "seq" or header[-1] != "chain_hash":
        return Verification(False, 0, "", problem=f"this is not a {FORMAT} evidence file.")
    kind = meta[1] if len(meta) > 1 else ""
    head = _digest("", [*meta, *header])
    width = len(header)
    entries = 0
    for row in iterator:
        if row and row[0] == END:
            if len(row) != 3 or row[1] != str(entries):
                counted = row[1] if len(row) > 1 else "?"
                problem = (
                    f"the END row counts {counted} entries, but the file has {entries:,}: entries were "
                    "removed or added."
                )
                return _failed(kind, entries, head, problem)
            if row[2] != head:
                return _failed(kind, entries, head, "the END row's head hash does not match the entries.")
            if next(iterator, None) is not None:
                return _failed(kind, entries, head, "there are rows after the END row.")
            return Verification(True, entries, head, kind)
        entry = entries + 1
        if len(row) != width or row[0] != str(entry):
            return _failed(kind, entries, head, f"entry {entry:,} is missing or out of order (found "
                           f"{row[0] if row else 'an empty row'!r} there).", entry)  # fmt: skip
        expected = _digest(head, row[:-1])
        if row[-1] != expected:
            return _failed(kind, entries, head, f"entry {entry:,} does not match its hash: it was changed, "
                           "or an entry before it was.", entry)  # fmt: skip
        head, entries = expected, entry
    return _failed(kind, entries, head, f"the file ends after entry {entries:,} without its END row: it was "
                   "cut short.", entries + 1)  # fmt: skip


def _failed(kind: str, entries: int, head: str, problem: str, entry: int | None = None) -> Verification:
    return Verification(False, entries, head, kind, problem, entry)
