"""Alerts of different sources about one problem are linked (`domain.alert_links`): the console's local
replication-lag rule and the server's ReplicationLagHigh on the same replica are one problem, shown as one
row naming both sources, counted and announced once."""

from __future__ import annotations

import time
from dataclasses import replace

from nexus_console.domain.alert_evaluator import RuleEvaluator
from nexus_console.domain.alert_links import (
    AlertLinks,
    also_raised_text,
    link_key,
    subject_of,
)
from nexus_console.domain.alert_rules import parse_rules_toml
from nexus_console.domain.alerts import Alert, AlertState, Severity, Transition
from nexus_console.services.alert_sources import default_rules
from tests.alerts.conftest import make_alert


def server_lag(state: AlertState = AlertState.FIRING, database: str = "marketplace") -> Alert:
    """The reference server's ReplicationLagHigh as the console reads it from GET /alerts."""
    service = f"postgres-{database}-replica"
    labels = {"service": service, "namespace": "nexus-data", "database": database, "role": "replica"}
    return Alert(
        fingerprint=f"fp-{database}",
        source="nexus",
        name="ReplicationLagHigh",
        severity=Severity.HIGH,
        state=state,
        service=service,
        namespace="nexus-data",
        labels=labels,
        source_id=f"1{len(database)}",
    )


def local_lag(lag_s: float = 42.0, replica: str = "marketplace-replica") -> Alert:
    """What the packaged local rule raises on the /monitoring/database/health listing."""
    evaluator = RuleEvaluator([r for r in default_rules() if r.name == "DatabaseReplicationLagHigh"], 0.0)
    payload = {"databases": [{"name": replica, "role": "replica", "replication_lag_s": lag_s}]}
    evaluator.observe_payload("db_health", payload, 10.0)
    (alert,) = evaluator.evaluate(10.0)
    return alert


def test_the_local_and_the_server_replication_lag_alerts_share_a_link_key() -> None:
    local, server = local_lag(), server_lag()
    assert local.name == "DatabaseReplicationLagHigh" and local.labels["condition"] == "ReplicationLagHigh"
    assert subject_of(local) == subject_of(server) == "database:marketplace-replica"
    assert link_key(local) == link_key(server) == "ReplicationLagHigh|database:marketplace-replica"


def test_another_replica_or_another_condition_is_not_the_same_problem() -> None:
    assert link_key(local_lag(replica="orders-replica")) != link_key(server_lag())
    cpu = replace(server_lag(), name="DatabaseCpuHigh")
    assert link_key(cpu) != link_key(server_lag())


def test_an_alert_about_no_database_or_service_is_linked_to_nothing() -> None:
    overall = make_alert(
        "ApiErrorRateHigh", source="local", service="", labels={"alertname": "ApiErrorRateHigh"}
    )
    assert subject_of(overall) == "" and link_key(overall) is None
    assert link_key(server_lag(AlertState.RESOLVED)) is None


def test_same_name_and_service_link_any_two_sources() -> None:
    nexus = make_alert("ServiceDown", source="nexus", service="user-auth", source_id="4")
    prometheus = make_alert("ServiceDown", source="prometheus", service="user-auth")
    links = AlertLinks([nexus, prometheus])
    assert [a.key for a in links.others(nexus.key)] == [prometheus.key]


def test_the_primary_stands_for_the_group_and_the_other_is_folded_into_it() -> None:
    local, server = local_lag(), server_lag()
    links = AlertLinks([local, server])
    assert links.primary(local.key) == links.primary(server.key) == server.key  # nexus first among equals
    assert links.is_folded(local.key) and not links.is_folded(server.key)
    assert links.others(server.key) == [local] and links.others(local.key) == [server]
    assert list(links.problems([local, server, make_alert("Other")])) == [server, make_alert("Other")]


def test_an_acknowledged_or_silenced_alert_stands_for_the_problem_whatever_its_source() -> None:
    local, server = local_lag(), server_lag()
    acked_local = replace(local, state=AlertState.ACKNOWLEDGED, ack_by="olive@nexus.test")
    assert AlertLinks([acked_local, server]).primary(server.key) == local.key
    silenced = replace(server, state=AlertState.SILENCED)
    assert AlertLinks([local, silenced]).primary(local.key) == server.key
    pending_server = replace(server, state=AlertState.PENDING)
    assert AlertLinks([local, pending_server]).primary(server.key) == local.key  # firing says more


def test_two_alerts_of_one_source_are_not_linked() -> None:
    first, second = server_lag(), replace(server_lag(), source_id="99")
    links = AlertLinks([first, second])
    assert links.others(first.key) == [] and links.primary(first.key) is None


def test_updates_name_every_alert_whose_links_changed() -> None:
    local, server = local_lag(), server_lag()
    links = AlertLinks([local])
    assert links.update([server]) == {local.key, server.key}  # the local alert is folded now
    assert links.is_folded(local.key)
    resolved = replace(server, state=AlertState.RESOLVED)
    assert links.update([resolved]) == {local.key}  # the group it left
    assert not links.is_folded(local.key) and links.others(local.key) == []
    links.update([server])
    assert links.update(removed=[server.key]) == {local.key}
    assert links.primary(local.key) is None


def test_the_detail_sentence_names_the_other_sources_and_their_states() -> None:
    assert also_raised_text([local_lag()]) == "Also raised by local (firing)"
    pending = replace(make_alert("X", source="prometheus"), state=AlertState.PENDING)
    assert (
        also_raised_text([local_lag(), pending]) == "Also raised by local (firing) and prometheus (pending)"
    )
    assert also_raised_text([]) == ""


def fired(alert: Alert, before: AlertState | None = None) -> Transition:
    return Transition(time.time(), before, AlertState.FIRING, alert)


def test_a_problem_already_raised_by_a_linked_alert_is_not_announced_again() -> None:
    local, server = local_lag(), server_lag()
    links = AlertLinks([local])
    first = links.first_alarms([fired(local)])
    assert [t.alert.key for t in first] == [local.key]
    links.update([server])
    assert links.first_alarms([fired(server)]) == ()  # the local alert already fires
    resolved_local = Transition(time.time(), AlertState.FIRING, AlertState.RESOLVED, local)
    assert links.first_alarms([resolved_local]) == (resolved_local,)  # other changes pass


def test_linked_alerts_firing_together_are_announced_once_by_their_primary() -> None:
    local, server = local_lag(), server_lag()
    links = AlertLinks([local, server])
    kept = links.first_alarms([fired(local), fired(server)])
    assert [t.alert.key for t in kept] == [server.key]


def test_a_rule_names_the_condition_it_mirrors_in_its_toml() -> None:
    (rule,) = parse_rules_toml(
        '[[rule]]\nname = "LagLocal"\ncondition = "ReplicationLagHigh"\nseries = "x"\nthreshold = 1\n'
    )
    assert rule.condition == "ReplicationLagHigh"
    (plain,) = parse_rules_toml('[[rule]]\nname = "Plain"\nseries = "x"\nthreshold = 1\n')
    assert plain.condition == ""
