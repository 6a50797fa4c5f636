"""Container probes (`python -m omnistock_cli.probe`) against real servers and databases.

These commands decide whether compose/k8s restart or route to a container, so each is checked
both ways: healthy → 0, unhealthy → 1.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from werkzeug.serving import make_server

from omnistock_cli.probe import amqp_port, established_remote_ports, probe, read_tcp_tables
from omnistock_common.grpc_server import build_server
from omnistock_devtools.migrated import migrate


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_grpc_probe_follows_the_health_service(runner: CliRunner) -> None:
    running = build_server([], ["omnistock.test.v1.TestService"], "127.0.0.1:0")
    address = f"127.0.0.1:{running.port}"
    try:
        assert runner.invoke(probe, ["grpc", address]).exit_code == 0
        assert (
            runner.invoke(probe, ["grpc", address, "--service", "omnistock.test.v1.TestService"]).exit_code
            == 0
        )
        # What SIGTERM does first: the probe must fail while in-flight calls drain.
        running.health.enter_graceful_shutdown()
        result = runner.invoke(probe, ["grpc", address])
        assert result.exit_code == 1
        assert "NOT_SERVING" in result.stderr
    finally:
        running.server.stop(None).wait()


def test_grpc_probe_fails_when_nothing_listens(runner: CliRunner) -> None:
    result = runner.invoke(probe, ["grpc", f"127.0.0.1:{free_port()}", "--timeout", "0.5"])

    assert result.exit_code == 1
    assert "health check failed" in result.stderr


@pytest.fixture
def http_url() -> Iterator[str]:
    app = Flask("probe-stub")
    app.add_url_rule("/healthz", "healthz", lambda: "ok")
    app.add_url_rule("/readyz", "readyz", lambda: ("catalog unavailable", 503))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def test_http_probe(runner: CliRunner, http_url: str) -> None:
    assert runner.invoke(probe, ["http", f"{http_url}/healthz"]).exit_code == 0
    not_ready = runner.invoke(probe, ["http", f"{http_url}/readyz"])
    assert not_ready.exit_code == 1
    assert "HTTP 503" in not_ready.stderr
    assert runner.invoke(probe, ["http", f"http://127.0.0.1:{free_port()}/healthz"]).exit_code == 1


def test_established_remote_ports_parses_proc_net_tcp() -> None:
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:A1B2 0100007F:1628 01 00000000:00000000 00:00000000 00000000 10001 0 1 1\n"
        "   1: 0100007F:A1B3 0100007F:1F90 06 00000000:00000000 00:00000000 00000000 10001 0 2 1\n"
        "   2: 00000000:C383 00000000:0000 0A 00000000:00000000 00:00000000 00000000 10001 0 3 1\n"
    )

    # 0x1628 = 5672 established; 0x1F90 = 8080 only in TIME_WAIT; the listener has no peer.
    assert established_remote_ports([table]) == {5672}


def test_amqp_port_defaults() -> None:
    assert amqp_port("amqp://guest:guest@rabbitmq:5672/") == 5672
    assert amqp_port("amqps://user:pw@broker.example/") == 5671
    assert amqp_port("amqp://user:pw@broker:15672/vhost") == 15672


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/net/tcp")
def test_amqp_connected_sees_a_real_established_connection(runner: CliRunner) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        url = f"amqp://guest:guest@127.0.0.1:{port}/"
        assert runner.invoke(probe, ["amqp-connected", "--amqp-url", url]).exit_code == 1

        with socket.create_connection(("127.0.0.1", port)) as client:
            peer, _ = listener.accept()
            with peer:
                assert port in established_remote_ports(read_tcp_tables())
                assert runner.invoke(probe, ["amqp-connected"], env={"AMQP_URL": url}).exit_code == 0
        del client


def test_wait_migrated_waits_for_the_schema_then_succeeds(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    env = {"CATALOG_DATABASE_URL": url}

    before = runner.invoke(probe, ["wait-migrated", "catalog", "--timeout", "0"], env=env)
    assert before.exit_code == 1
    assert "catalog" in before.stderr

    migrate("catalog", url)

    after = runner.invoke(probe, ["wait-migrated", "catalog", "--timeout", "0"], env=env)
    assert after.exit_code == 0, after.output
    assert "at head" in after.stderr
