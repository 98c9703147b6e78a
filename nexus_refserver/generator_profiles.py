"""Generated user profiles (acquisition source, age band, gender) and subject clicks during sync sessions,
deterministic from the seed, each from its own random stream so the other tables never shift.

Profiles: one per user, independent of the rest of the user's row, with weights in the shape of a
consumer app's audience. Subject clicks: some detected sync sessions get one to five clicks on a subject
while they run; how likely a session gets any depends on its content's genre (sports and lifestyle viewers
click products more than documentary viewers), so click-through differs by genre and content.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import Engine

from nexus_refserver.generator import (
    GENRES,
    SUBJECTS,
    DatasetSize,
    _insert_all,
    _rng,
    _WeightedChoice,
    content_rows,
    sync_session_rows,
)
from nexus_refserver.schema_profiles import (
    ACQUISITION_SOURCES,
    AGE_BANDS,
    GENDERS,
    subject_clicks,
    user_profiles,
)

_SOURCE = _WeightedChoice(tuple(key for key, _ in ACQUISITION_SOURCES), (30, 14, 22, 9, 12, 5, 8))
_AGE_BAND = _WeightedChoice(tuple(key for key, _ in AGE_BANDS), (21, 31, 22, 13, 8, 5))
_GENDER = _WeightedChoice(tuple(key for key, _ in GENDERS), (47, 45, 2, 6))
# chance that a detected sync session of the genre gets a subject click
CLICK_PROPENSITY = {
    "drama": 0.22, "comedy": 0.18, "documentary": 0.08, "reality": 0.34, "sports": 0.41, "thriller": 0.15,
    "kids": 0.12, "lifestyle": 0.46, "music": 0.27,
}  # fmt: skip
MAX_CLICKS = 5


def profile_rows(seed: int, count: int) -> Iterator[dict]:
    rng = _rng(seed, "user_profiles")
    for user_id in range(1, count + 1):
        yield {
            "user_id": user_id,
            "acquisition_source": _SOURCE.pick(rng),
            "age_band": _AGE_BAND.pick(rng),
            "gender": _GENDER.pick(rng),
        }


def subject_click_rows(seed: int, size: DatasetSize) -> Iterator[dict]:
    """Clicks during the detected sync sessions (`sync_session_rows` of the same seed), in session order."""
    genres = {row["id"]: row["genre"] for row in content_rows(seed, size.contents)}
    rng = _rng(seed, "subject_clicks")
    random_ = rng.random
    click_id = 0
    for session in sync_session_rows(seed, size):
        if not session["detected"]:
            continue
        if random_() >= CLICK_PROPENSITY.get(genres.get(session["content_id"], GENRES[0]), 0.2):
            continue
        clicks = min(MAX_CLICKS, 1 + int(math.log(1 - random_()) / math.log(0.45)))  # geometric, mean ~1.8
        length = max(1, session["duration_s"])
        for _ in range(clicks):
            click_id += 1
            yield {
                "id": click_id,
                "sync_session_id": session["id"],
                "user_id": session["user_id"],
                "content_id": session["content_id"],
                "subject": SUBJECTS[int(random_() * len(SUBJECTS))],
                "at": session["started_at"] + timedelta(seconds=int(random_() * length)),
            }


def generate_profiles_and_clicks(engine: Engine, seed: int, size: DatasetSize) -> None:
    """Fill `user_profiles` and `subject_clicks` in the users database (empty tables)."""
    _insert_all(engine, user_profiles, profile_rows(seed, size.users))
    _insert_all(engine, subject_clicks, subject_click_rows(seed, size))
