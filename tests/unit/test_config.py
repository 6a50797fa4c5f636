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
