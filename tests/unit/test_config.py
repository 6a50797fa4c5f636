"""Settings: local defaults work, invalid values stop start-up with every problem named."""

import pytest

from omnistock_common.config import ConfigError, load_service_settings


def test_defaults_work_without_any_environment() -> None:
    settings = load_service_settings("catalog", {})
    assert settings.grpc_port == 50051
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("var/catalog.db")
    assert settings.bind_address == "127.0.0.1:50051"


def test_values_from_environment_are_typed() -> None:
    settings = load_service_settings(
        "inventory",
        {
            "INVENTORY_GRPC_PORT": "6000",
            "INVENTORY_DATABASE_URL": "postgresql://u@h/db",
            "LOG_LEVEL": "DEBUG",
        },
    )
    assert settings.grpc_port == 6000
    assert settings.database_url == "postgresql://u@h/db"
    assert settings.log_level == "DEBUG"


def test_every_invalid_value_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_service_settings(
            "catalog",
            {"CATALOG_GRPC_PORT": "http", "CATALOG_DATABASE_URL": "mysql://x", "LOG_LEVEL": "LOUD"},
        )
    message = str(excinfo.value)
    assert "CATALOG_GRPC_PORT" in message
    assert "CATALOG_DATABASE_URL" in message
    assert "LOG_LEVEL" in message


def test_entrypoint_turns_a_config_error_into_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from omnistock_common.config import run_entrypoint

    def main() -> int:
        load_service_settings("catalog", {"CATALOG_GRPC_PORT": "abc"})
        return 0

    with pytest.raises(SystemExit) as excinfo:
        run_entrypoint(main)
    assert excinfo.value.code == 2
    assert "CATALOG_GRPC_PORT='abc' is not an integer" in capsys.readouterr().err


def test_development_values_are_recorded_and_refused_only_in_production() -> None:
    from omnistock_common.config import EnvReader, is_dev_value

    assert is_dev_value("compose-dev-only-oauth-state-secret-change-me") and is_dev_value("dev-abc")
    assert is_dev_value("sandbox-shopify-client-secret") and not is_dev_value("k8Zp2-real-secret")

    def read(environ: dict[str, str]) -> EnvReader:
        env = EnvReader(environ)
        env.secret("X_SECRET", "built-in-default")
        env.secret("X_KEYS", "k0:built-in", separator=",")
        env.database_url("X_DATABASE_URL", "sqlite:///x.db")
        env.redis_url("REDIS_URL")
        env.amqp_url("AMQP_URL")
        return env

    assert set(read({}).dev_values) == {"X_SECRET", "X_KEYS", "X_DATABASE_URL", "REDIS_URL", "AMQP_URL"}
    read({}).raise_if_invalid()  # development: recorded, not refused
    proper = {
        "X_SECRET": "k8Zp2-real-secret",
        "X_KEYS": "new:abc,old:def",
        "X_DATABASE_URL": "postgresql://u:Pw-1@db/x",
        "REDIS_URL": "rediss://:Pw-2@redis:6380/0",
        "AMQP_URL": "amqps://omni:Pw-3@mq/omni",
        "OMNISTOCK_ENV": "production",
    }
    read(proper).raise_if_invalid()
    # One development key among the keyring's, or a development database password, is enough.
    for name, value in (
        ("X_KEYS", "new:abc,dev-old:def"),
        ("X_DATABASE_URL", "postgresql://u:x-dev-only@db/x"),
    ):
        with pytest.raises(ConfigError, match=name):
            read({**proper, name: value}).raise_if_invalid()
    with pytest.raises(ConfigError, match="OMNISTOCK_ENV"):
        EnvReader({"OMNISTOCK_ENV": "prod"}).raise_if_invalid()  # a typo is not "development"
