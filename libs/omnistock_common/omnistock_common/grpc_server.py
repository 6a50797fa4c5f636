"""gRPC server bootstrap shared by every service: health, reflection, interceptors, SIGTERM drain.

Every server verifies the callers' internal credential and role (interceptors.AccessPolicy);
reflection is on unless GRPC_REFLECTION=false.

`build_server` only assembles (tests use it with port 0); `serve_forever` adds signal handling.
Every composition root's `build(settings, ...)` returns a `BuiltServer`: the running server, the
resources it owns (closed on stop) and a typed slot for what tests reach (`parts`).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection as grpc_reflection

from omnistock_common.config import load_internal_auth_settings
from omnistock_common.interceptors import AccessPolicy, ServerContextInterceptor
from omnistock_common.service_auth import TokenVerifier

log = logging.getLogger("omnistock.server")

# A function that adds one servicer to a server, e.g.
# lambda s: catalog_service_pb2_grpc.add_CatalogServiceServicer_to_server(servicer, s)
Registration = Callable[[grpc.Server], None]


@dataclass
class RunningServer:
    server: grpc.Server
    health: health.HealthServicer
    port: int
    service_names: tuple[str, ...]

    def set_serving(self) -> None:
        for name in ("", *self.service_names):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def shutdown(self, grace: float) -> None:
        """Stop taking new work (health NOT_SERVING), let in-flight calls finish, stop."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


PartsT = TypeVar("PartsT")


@dataclass
class BuiltServer(Generic[PartsT]):
    """What every `build(settings, ...)` returns (catalog, inventory, channels, the connectors).

    `parts` is what tests and tools may reach besides the port: what the service's use cases take
    (a unit of work, channels' deps and engine, a connector's servicer). `closers` close what the
    build created (engine, clients, channels), in reverse order of creation; what a caller handed
    in stays the caller's to close.
    """

    running: RunningServer
    parts: PartsT
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.running.port

    def close_resources(self) -> None:
        """Close what the build owns, once (later calls do nothing)."""
        for close in reversed(self.closers):
            close()
        self.closers.clear()

    def stop(self, grace: float = 0) -> None:
        """Drain the server (health NOT_SERVING first), then close its resources."""
        self.running.shutdown(grace)
        self.close_resources()


def build_server(
    registrations: Sequence[Registration],
    service_names: Sequence[str],
    address: str,
    *,
    max_workers: int = 16,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    tenantless_methods: Collection[str] = (),
    read_only_methods: Collection[str] = (),
    method_roles: Mapping[str, Collection[str]] | None = None,
    reflection: bool | None = None,
    verifier: TokenVerifier | None = None,
) -> RunningServer:
    """Create and start a server on `address` ("host:0" picks a free port).

    Method names are full ("/pkg.Service/Method"). `read_only_methods` may be called by any
    authenticated role (viewers included); `method_roles` names the roles of methods stricter than
    the default, which is a writing role for every other method. `tenantless_methods` may be called
    with a credential that names no tenant because they identify it themselves (e.g. a webhook by
    its connection). `reflection` None reads GRPC_REFLECTION; `verifier` None uses
    INTERNAL_TOKEN_SECRET.
    """
    if reflection is None:
        reflection = load_internal_auth_settings().reflection
    policy = AccessPolicy.of(read_only_methods, method_roles, tenantless_methods)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        interceptors=[ServerContextInterceptor(policy, verifier), *interceptors],
        options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
            ("grpc.so_reuseport", 0),
            # Clients keep one HTTP/2 connection per backend address; recycling connections
            # every few minutes lets new replicas behind a Kubernetes Service get their share.
            ("grpc.max_connection_age_ms", 5 * 60 * 1000),
            ("grpc.max_connection_age_grace_ms", 30 * 1000),
        ],
    )
    for register in registrations:
        register(server)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if reflection:
        grpc_reflection.enable_server_reflection(
            (*service_names, health.SERVICE_NAME, grpc_reflection.SERVICE_NAME), server
        )
    port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"could not bind gRPC server to {address}")
    server.start()
    running = RunningServer(server, health_servicer, port, tuple(service_names))
    running.set_serving()
    return running


def serve_forever(built: BuiltServer[Any], grace: float) -> None:
    """Block until SIGTERM/SIGINT, then drain gracefully and close what the build owns."""
    stop = threading.Event()

    def _request_stop(signum: int, _frame: object) -> None:
        log.info("received %s, draining", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    running = built.running
    log.info("serving", extra={"port": running.port, "services": list(running.service_names)})
    stop.wait()
    built.stop(grace)
    log.info("stopped")
