"""Attacks in scenario files: the `[[attack]]` table, the bundled scenarios' attacks, and a server that
starts a scripted attack at its time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nexus_refserver.security_attacks import ATTACK_KINDS
from nexus_refserver.telemetry import ScenarioError, load_scenario
from nexus_refserver.telemetry.scenario import ScriptedAttack, parse_scenario
from tests.refserver.security_support import open_db, wait_for
from tests.support.refserver import RefServer

KINDS = {"brute_force", "credential_stuffing", "new_country_login", "impossible_travel", "bot_client",
         "injection_burst", "bulk_data_access"}  # fmt: skip


def test_the_demo_plays_every_attack_between_30_seconds_and_3_minutes() -> None:
    attacks = load_scenario("demo").attacks
    assert {attack.kind for attack in attacks} == KINDS == set(ATTACK_KINDS)
    assert all(30 <= attack.at_s <= 180 for attack in attacks)


def test_the_default_scenario_plays_every_attack_and_none_plays_none() -> None:
    assert {attack.kind for attack in load_scenario("default").attacks} == KINDS
    assert load_scenario("none").attacks == ()


def test_an_attack_table_has_a_time_and_a_kind() -> None:
    scenario = parse_scenario('[[attack]]\nat_s = 12.5\nkind = "bot_client"\n')
    assert scenario.attacks == (ScriptedAttack(12.5, "bot_client"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[attack]]\nat_s = 1\nkind = "ddos"', "attack #1: unknown attack kind 'ddos'"),
        ('[[attack]]\nkind = "bot_client"', "attack #1: missing keys: at_s"),
        ('[[attack]]\nat_s = -1\nkind = "bot_client"', "attack #1: at_s must not be negative"),
        ('[[attack]]\nat_s = 1\nkind = "bot_client"\nspeed = 2', "attack #1: unknown keys: speed"),
        ("attack = 3", "'attack' must be an array of tables"),
    ],
)
def test_bad_attack_tables_are_refused_with_a_sentence(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(text)


def test_a_server_starts_a_scripted_attack_at_its_time(
    refserver_factory: Callable[..., RefServer], tmp_path: Path
) -> None:
    scenario = tmp_path / "login-abroad.toml"
    scenario.write_text('name = "login-abroad"\n[[attack]]\nat_s = 1\nkind = "new_country_login"\n')
    server = refserver_factory("--seed", "5", "--scale", "0.02", "--scenario", str(scenario))

    def travellers() -> list:
        """Users who signed in from Brazil and from Norway (benign users only ever sign in from home)."""
        with open_db(server) as db:
            return db.execute(
                "SELECT DISTINCT a.user FROM login_attempts a JOIN login_attempts b ON a.user = b.user "
                "WHERE a.country = 'BR' AND b.country = 'NO'"
            ).fetchall()

    wait_for(lambda: len(travellers()) > 0, timeout_s=20)
    ((user,),) = travellers()
    with open_db(server) as db:
        logins = db.execute("SELECT country, result FROM login_attempts WHERE user = ?", (user,)).fetchall()
    assert [tuple(row) for row in logins if row[0] == "BR"] == [("BR", "success")]
    assert {row[0] for row in logins if row[0] != "BR"} == {"NO"}
