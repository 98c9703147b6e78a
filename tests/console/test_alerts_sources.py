"""Which alert sources a session gets: Nexus always, Alertmanager and Prometheus when the profile names
them, local rules from the package plus the user's file; where each triage action goes; and the Alerts
pane's settings, read by the runtime below the views."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_console.domain.alert_actions import ActionNotSupported
from nexus_console.domain.alert_settings import AlertPaneSettings
from nexus_console.domain.alerts import Alert, AlertState, Severity
from nexus_console.services.alert_runtime import (
    ALERTMANAGER_POLLER,
    PROMETHEUS_POLLER,
    AlertSourceSettings,
)
from nexus_console.services.alert_sources import default_rules
from nexus_console.services.profiles import Profile, cache_dir, config_dir
from nexus_console.workers.session import SessionSettings
from tests.support.session import offline_session


def settings_for(tmp_path: Path, **alerts: object) -> SessionSettings:
    return SessionSettings(alerts=AlertSourceSettings(history_path=tmp_path / "history.db", **alerts))  # type: ignore[arg-type]


def lab(**profile: object) -> Profile:
    return Profile("lab", "http://127.0.0.1:9", **profile)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_without_prometheus_or_alertmanager_the_queue_has_nexus_local_rules_and_security(
    tmp_path: Path,
) -> None:
    async with offline_session("admin", settings=settings_for(tmp_path)) as session:
        runtime = session.alerts
        assert set(runtime.queue.sources) == {"nexus", "local", "security"}  # detections: analysts, admins
        assert session.registry.get(ALERTMANAGER_POLLER) is None
        assert session.registry.get(PROMETHEUS_POLLER) is None
        assert runtime.source_pollers() == {}
        assert runtime.owner == session.me.email
        assert [r.name for r in runtime.rules] == [r.name for r in default_rules()]


@pytest.mark.asyncio
async def test_alertmanager_instances_and_prometheus_come_from_the_profile(tmp_path: Path) -> None:
    profile = lab(
        alertmanager_urls=("http://127.0.0.1:9093", "http://127.0.0.1:9094"),
        prometheus_url="http://127.0.0.1:9090",
    )
    async with offline_session("admin", profile=profile, settings=settings_for(tmp_path)) as session:
        runtime = session.alerts
        assert runtime.alertmanager is not None and runtime.prometheus is not None
        assert [(i.name, i.base_url) for i in runtime.alertmanager.instances] == [
            ("am1", "http://127.0.0.1:9093"),
            ("am2", "http://127.0.0.1:9094"),
        ]
        # The pollers are the session's: the status bar shows them, the session starts and stops them.
        alertmanager = session.registry.get(ALERTMANAGER_POLLER)
        prometheus = session.registry.get(PROMETHEUS_POLLER)
        assert alertmanager is not None and prometheus is not None
        assert runtime.source_pollers() == {"alertmanager": alertmanager, "prometheus": prometheus}
        assert {alertmanager, prometheus} <= set(session.sources())
        assert runtime.prometheus.include_firing is False  # firing ones come through Alertmanager
    async with offline_session(
        "admin", profile=lab(prometheus_url="http://127.0.0.1:9090"), settings=settings_for(tmp_path)
    ) as session:
        assert session.alerts.alertmanager is None
        assert session.alerts.prometheus is not None and session.alerts.prometheus.include_firing is True


@pytest.mark.asyncio
async def test_the_users_rules_file_adds_and_overrides_and_a_broken_one_is_reported(tmp_path: Path) -> None:
    first = default_rules()[0]
    rules_file = tmp_path / "alert-rules.toml"
    rules_file.write_text(
        f'[[rule]]\nname = "{first.name}"\nseries = "api_health.error_rate"\nthreshold = 0.5\n'
        '[[rule]]\nname = "OrdersSlow"\nseries = "api_health.latency_ms.p99"\nthreshold = 900\n'
    )
    async with offline_session(settings=settings_for(tmp_path, rules_path=rules_file)) as session:
        runtime = session.alerts
        by_name = {rule.name: rule for rule in runtime.rules}
        assert by_name[first.name].threshold == 0.5
        assert "OrdersSlow" in by_name and len(runtime.rules) == len(default_rules()) + 1
        assert runtime.rule_problems == []
    rules_file.write_text('[[rule]]\nname = "Broken"\nseries = "x"\nop = "~"\n')
    async with offline_session(settings=settings_for(tmp_path, rules_path=rules_file)) as session:
        runtime = session.alerts
        assert [r.name for r in runtime.rules] == [r.name for r in default_rules()]
        assert runtime.rule_problems and "Broken" in runtime.rule_problems[0]


@pytest.mark.asyncio
async def test_resolving_is_only_for_nexus_alerts(tmp_path: Path) -> None:
    alert = Alert("fp", "alertmanager", "X", Severity.HIGH, AlertState.FIRING)
    async with offline_session(settings=settings_for(tmp_path)) as session:
        with pytest.raises(ActionNotSupported, match="resolve at their source"):
            await session.alerts.resolve(alert)


@pytest.mark.asyncio
async def test_the_pane_settings_come_from_the_config_dir_and_a_broken_file_keeps_its_problem(
    tmp_path: Path, isolated_dirs: dict[str, Path]
) -> None:
    async with offline_session(settings=settings_for(tmp_path)) as session:
        assert session.alerts.pane_settings == AlertPaneSettings()  # no alerts.toml: the defaults
        assert session.alerts.settings_problem is None
        assert session.alerts.sounds_dir == cache_dir() / "sounds"
        assert session.alerts.sounds_dir.is_relative_to(isolated_dirs["cache"])
    config_dir().mkdir(parents=True, exist_ok=True)
    (config_dir() / "alerts.toml").write_text('[runbooks]\nbase = "https://wiki/{name}"\n')
    async with offline_session(settings=settings_for(tmp_path)) as session:
        assert session.alerts.pane_settings.runbook_base == "https://wiki/{name}"
    broken = tmp_path / "alerts.toml"
    broken.write_text("[notifications]\nrepeat_critical_s = 0\n")
    settings = settings_for(tmp_path, pane_settings_path=broken, sounds_dir=tmp_path / "tones")
    async with offline_session(settings=settings) as session:
        assert session.alerts.pane_settings == AlertPaneSettings()
        assert session.alerts.settings_problem == (
            "alerts.toml: notifications.repeat_critical_s must be a number >= 1"
        )
        assert session.alerts.sounds_dir == tmp_path / "tones"
