"""Generated files that running code and the database server read: omnistock_common's topology
module (default ports, which connector speaks which channel type) and the PostgreSQL roles and
databases (k8s/postgres/create-databases.sql). Images carry neither the registry nor this package,
so these facts are written out as plain files."""

from __future__ import annotations

import json

from .model import GENERATED_HEADER, Registry, RegistryError

TOPOLOGY_PATH = "libs/omnistock_common/omnistock_common/topology.py"
CREATE_DATABASES_PATH = "k8s/postgres/create-databases.sql"


def _dict_literal(name: str, annotation: str, values: dict[str, object]) -> list[str]:
    """One entry per line with a trailing comma, the shape `ruff format` keeps."""
    if not values:
        return [f"{name}: {annotation} = {{}}"]
    return [
        f"{name}: {annotation} = {{",
        *(f"    {json.dumps(k)}: {json.dumps(v)}," for k, v in values.items()),
        "}",
    ]


def render_topology(reg: Registry) -> str:
    gateways = reg.of_kind("gateway")
    if len(gateways) != 1:
        raise RegistryError(f"the topology needs exactly one gateway, the registry has {len(gateways)}")
    sandboxes = {d.name.removesuffix("-sandbox"): int(d.port or 0) for d in reg.of_kind("sandbox")}
    lines = [
        GENERATED_HEADER,
        '"""The registry\'s facts that running code needs (images do not carry deploy/deployables.toml):',
        "where each process listens by default and which connector speaks which channel type.",
        "omnistock_common.config re-exports the ports; channels.config the connector map.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "# Default gRPC ports of the local topology (make run, docker-compose, k8s Services), keyed by the",
        "# name a service reads its settings under (<NAME>_GRPC_PORT, <NAME>_ADDR). Services not in the",
        "# registry yet come from project.planned_grpc_ports.",
        *_dict_literal("DEFAULT_GRPC_PORTS", "dict[str, int]", reg.default_grpc_ports),
        "# Local HTTP ports of the channel sandboxes (kind = sandbox), by vendor.",
        *_dict_literal("DEFAULT_SANDBOX_PORTS", "dict[str, int]", sandboxes),
        f"DEFAULT_GATEWAY_PORT = {int(gateways[0].port or 0)}",
        "# Channel type -> the connector service that speaks it (a connector's channel_types).",
        *_dict_literal("CONNECTOR_SERVICES", "dict[str, str]", reg.connector_services),
    ]
    return "\n".join(lines) + "\n"


def render_create_databases(reg: Registry) -> str:
    lines = [
        GENERATED_HEADER.replace("#", "--", 1),
        "-- One database and one login role per service (each deployable's `database`): a service can",
        "-- reach only its own data (no shared tables). Run once by the postgres image on an empty data",
        "-- directory (docker-compose mounts it into /docker-entrypoint-initdb.d/), or by hand / by your",
        "-- PostgreSQL operator in Kubernetes. The passwords are the [secrets] dev URLs' and are for a",
        "-- laptop ONLY; production roles get generated passwords that live in the omnistock-secrets",
        "-- Secret. Connectors keep no database.",
    ]
    for database in reg.databases:
        role, password = reg.database_role(database)
        lines += [
            f"CREATE ROLE {role} LOGIN PASSWORD '{password}';",
            f"CREATE DATABASE {database} OWNER {role};",
            "",
        ]
    lines.append("-- Nobody else may connect to a service's database.")
    lines += [f"REVOKE CONNECT ON DATABASE {database} FROM PUBLIC;" for database in reg.databases]
    return "\n".join(lines) + "\n"
