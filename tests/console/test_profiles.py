"""Profiles in TOML in the config directory; no secrets allowed in them."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_console.services.profiles import (
    Profile,
    ProfileBook,
    ProfileError,
    ProfileStore,
    TlsSettings,
    config_dir,
    dsn_has_password,
)


def test_profiles_live_in_the_platform_config_dir(isolated_dirs: dict[str, Path]) -> None:
    assert ProfileStore().path == isolated_dirs["config"] / "nexus-console" / "profiles.toml"
    assert config_dir() == isolated_dirs["config"] / "nexus-console"


def test_profiles_round_trip_through_toml(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.toml")
    prod = Profile(
        "prod",
        "https://nexus.example.test/api",
        email="ops@example.test",
        replicas={
            "users": (
                "postgresql+psycopg://reader@users-1.example.test:5433/users",
                "postgresql+psycopg://reader@users-2.example.test:5433/users",
            )
        },
        prometheus_url="https://prom.example.test",
        alertmanager_urls=("https://am-a.example.test", "https://am-b.example.test"),
        tls=TlsSettings(verify=True, ca_bundle=Path("/etc/ssl/corp-ca.pem")),
    )
    lab = Profile("lab", "http://127.0.0.1:8000")
    store.save(ProfileBook({"prod": prod, "lab": lab}, default="lab"))

    book = store.load()
    assert book.profiles == {"prod": prod, "lab": lab}
    assert book.pick(None) is book.profiles["lab"]
    assert book.pick("prod").tls.ca_bundle == Path("/etc/ssl/corp-ca.pem")


def test_tls_verification_is_on_unless_a_profile_turns_it_off(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text('[profiles.a]\napi_base_url = "https://a.test"\n', encoding="utf-8")
    assert ProfileStore(path).load().pick(None).tls == TlsSettings(verify=True, ca_bundle=None)


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://reader:s3cret@db.test:5432/ops",
        "postgresql://reader@db.test/ops?password=s3cret",
        "host=db.test user=reader password=s3cret dbname=ops",
    ],
)
def test_a_replica_dsn_with_a_password_is_refused(tmp_path: Path, dsn: str) -> None:
    assert dsn_has_password(dsn)
    path = tmp_path / "profiles.toml"
    path.write_text(
        f'[profiles.a]\napi_base_url = "http://127.0.0.1:1"\n[profiles.a.replicas]\nr1 = "{dsn}"\n',
        encoding="utf-8",
    )
    with pytest.raises(ProfileError, match=r"r1.*password"):
        ProfileStore(path).load()


def test_unknown_profile_name_lists_the_known_ones(tmp_path: Path) -> None:
    book = ProfileBook({"a": Profile("a", "http://127.0.0.1:1"), "b": Profile("b", "http://127.0.0.1:2")})
    with pytest.raises(ProfileError, match=r"'c'.*known: a, b"):
        book.pick("c")
    with pytest.raises(ProfileError, match="--profile"):
        book.pick(None)


def test_keychain_service_name_is_per_profile() -> None:
    assert Profile("lab", "http://127.0.0.1:1").keychain_service == "nexus-console:lab"


def test_the_readme_profile_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "profiles.toml"
    path.write_text(example, encoding="utf-8")
    profile = ProfileStore(path).load().pick("production")
    assert profile.api_base_url == "https://nexus.internal.example/api"
    assert len(profile.alertmanager_urls) == 2
    assert len(profile.replicas["users"]) == 2 and set(profile.replicas) == {
        "users",
        "marketplace",
        "workstation",
    }
    assert profile.tls.verify and profile.tls.ca_bundle == Path("/etc/ssl/certs/internal-ca.pem")
