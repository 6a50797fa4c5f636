"""`make run`'s port check: a port left in TIME-WAIT by the previous run is free, a listening one
is not (issue 14: `make run`, Ctrl-C, `make run` again refused to start for up to a minute)."""

from __future__ import annotations

import socket

from omnistock_devtools.devrun import _busy_ports


def _port_in_time_wait() -> int:
    """A loopback port whose listener is closed and whose server side closed a connection first,
    so that connection sits in TIME-WAIT on the port (what a stopped server leaves behind)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = int(listener.getsockname()[1])
    client = socket.create_connection(("127.0.0.1", port))
    served, _ = listener.accept()
    served.close()  # the server side closes first: it is the side that waits in TIME-WAIT
    listener.close()
    client.recv(1)  # the FIN arrived
    client.close()
    return port


def test_a_port_in_time_wait_is_free_for_the_next_run() -> None:
    port = _port_in_time_wait()
    # Without SO_REUSEADDR this bind fails with EADDRINUSE while the connection waits.
    with socket.socket() as plain:
        try:
            plain.bind(("127.0.0.1", port))
            lingering = False
        except OSError:
            lingering = True
    assert lingering, "the setup must leave the port in TIME-WAIT"
    assert _busy_ports({"gateway": port}) == []


def test_a_listening_port_is_reported_busy() -> None:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = int(listener.getsockname()[1])
        assert _busy_ports({"gateway": port}) == [f"gateway port {port} is in use (another `make run`?)"]
