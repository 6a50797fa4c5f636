"""Root conftest: shared fixtures (databases, Redis, RabbitMQ) for every test folder."""

pytest_plugins = ["omnistock_devtools.testing", "omnistock_devtools.log_audit"]
