"""The Kubernetes files: the base (a file per deployable, ConfigMaps, NetworkPolicies, kustomization),
the prod PodDisruptionBudgets, the dev overlay's Secret and the overlays' image lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import GENERATED_HEADER, PRESTOP_SECONDS, UID, Deployable, Registry
from .render import _grace, _labels, _yaml_docs

# ================================================================================ Kubernetes
HARDENED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
}
POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": UID,
    "runAsGroup": UID,
    "fsGroup": UID,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _secret_env(
    reg: Registry, env: Mapping[str, str], optional: Mapping[str, str] = {}
) -> list[dict[str, Any]]:
    out = []
    for name, key in {**env, **optional}.items():
        ref: dict[str, Any] = {"name": reg.secret_name, "key": key}
        if name in optional:
            ref["optional"] = True
        out.append({"name": name, "valueFrom": {"secretKeyRef": ref}})
    return out


def _tmp_mount() -> list[dict[str, str]]:
    return [{"name": "tmp", "mountPath": "/tmp"}]


def _wait_for_migrations(reg: Registry, d: Deployable) -> dict[str, Any]:
    assert d.database
    return {
        "name": "wait-for-migrations",
        "image": reg.image_name(d.image),
        "command": ["python", "-m", "omnistock_cli.probe", "wait-migrated", d.database, "--timeout", "600"],
        "env": _secret_env(reg, {f"{d.database.upper()}_DATABASE_URL": f"{d.database}-database-url"}),
        "resources": {
            "requests": {"cpu": "20m", "memory": "64Mi"},
            "limits": {"cpu": "200m", "memory": "128Mi"},
        },
        "securityContext": HARDENED,
        "volumeMounts": _tmp_mount(),
    }


def _probes(d: Deployable) -> dict[str, Any]:
    if d.is_grpc:
        action: dict[str, Any] = {"grpc": {"port": d.port}}
        return {
            "startupProbe": {**action, "periodSeconds": 2, "failureThreshold": 30},
            "readinessProbe": {**action, "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 2},
            "livenessProbe": {**action, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3},
        }
    if d.kind == "gateway":
        return {
            "startupProbe": {
                "httpGet": {"path": "/healthz", "port": "http"},
                "periodSeconds": 2,
                "failureThreshold": 30,
            },
            # 200 only while every backend reports SERVING: no traffic to a gateway that would answer 503.
            "readinessProbe": {
                "httpGet": {"path": "/readyz", "port": "http"},
                "periodSeconds": 5,
                "timeoutSeconds": 3,
                "failureThreshold": 2,
            },
            "livenessProbe": {
                "httpGet": {"path": "/healthz", "port": "http"},
                "periodSeconds": 10,
                "timeoutSeconds": 3,
                "failureThreshold": 3,
            },
        }
    # nameko has no health endpoint: a worker without a broker connection for 3 x 20 s is stuck.
    return {
        "livenessProbe": {
            "exec": {"command": d.container_probe()},
            "initialDelaySeconds": 30,
            "periodSeconds": 20,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        }
    }


def _deployment(reg: Registry, d: Deployable) -> dict[str, Any]:
    labels = _labels(d)
    container: dict[str, Any] = {
        "name": d.name if d.component == "server" else "worker",
        "image": reg.image_name(d.image),
        "command": list(d.container_command),
    }
    if d.port is not None:
        port_name = "http" if d.kind == "gateway" else "grpc"
        container["ports"] = [{"name": port_name, "containerPort": d.port}]
    container["envFrom"] = [{"configMapRef": {"name": name}} for name in ("omnistock-common", *d.config)]
    container["env"] = _secret_env(reg, d.secret_env(reg.project), d.optional_secrets)
    container.update(_probes(d))
    if d.component == "server":
        # Let endpoints controllers and kube-proxy drop this pod before SIGTERM.
        container["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", str(PRESTOP_SECONDS)]}}}
    container["resources"] = d.resources
    container["securityContext"] = HARDENED
    container["volumeMounts"] = _tmp_mount()
    pod: dict[str, Any] = {
        "serviceAccountName": d.image,
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": _grace(d),
        "securityContext": POD_SECURITY,
    }
    if d.database:
        pod["initContainers"] = [_wait_for_migrations(reg, d)]
    pod["containers"] = [container]
    pod["volumes"] = [{"name": "tmp", "emptyDir": {"sizeLimit": d.tmp_size or "256Mi"}}]
    spec: dict[str, Any] = {"revisionHistoryLimit": 5, "selector": {"matchLabels": labels}}
    if d.component == "server":
        spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    spec["template"] = {
        "metadata": {"labels": {**labels, "omnistock.io/deployable": d.name}},
        "spec": pod,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": d.name, "labels": labels},
        "spec": spec,
    }


def _hpa(d: Deployable) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": d.name, "labels": {"app.kubernetes.io/name": d.image}},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": d.name},
            "minReplicas": d.replicas["min"],
            "maxReplicas": d.replicas["max"],
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
    }


def _service(d: Deployable) -> dict[str, Any]:
    port_name = "http" if d.kind == "gateway" else "grpc"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": d.name, "labels": {"app.kubernetes.io/name": d.image}},
        "spec": {
            "type": "ClusterIP",
            "selector": _labels(d),
            "ports": [{"name": port_name, "port": d.port, "targetPort": port_name, "appProtocol": port_name}],
        },
    }


def _migration_job(reg: Registry, d: Deployable) -> dict[str, Any]:
    assert d.database
    labels = {"app.kubernetes.io/name": d.image, "app.kubernetes.io/component": "migration"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"{d.database}-migrate", "labels": labels},
        "spec": {
            "backoffLimit": 6,
            "activeDeadlineSeconds": 900,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": d.image,
                    "automountServiceAccountToken": False,
                    "restartPolicy": "Never",
                    "securityContext": POD_SECURITY,
                    "containers": [
                        {
                            "name": "migrate",
                            "image": reg.image_name(d.image),
                            "command": ["python", "-m", "omnistock_common.migrate_all", d.database],
                            "envFrom": [{"configMapRef": {"name": "omnistock-common"}}],
                            "env": _secret_env(
                                reg, {f"{d.database.upper()}_DATABASE_URL": f"{d.database}-database-url"}
                            ),
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "128Mi"},
                                "limits": {"cpu": "500m", "memory": "256Mi"},
                            },
                            "securityContext": HARDENED,
                            "volumeMounts": _tmp_mount(),
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def render_k8s_deployable(reg: Registry, d: Deployable) -> str:
    docs: list[tuple[str, dict[str, Any]]] = []
    if d.image == d.name:
        sa = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": d.image, "labels": {"app.kubernetes.io/name": d.image}},
            "automountServiceAccountToken": False,
        }
        docs.append(("", sa))
    if d.port is not None:
        docs.append(("", _service(d)))
    drain = {
        "worker": "nameko waits for running entry points on SIGTERM",
        "gateway": "> preStop sleep + gunicorn --graceful-timeout",
    }.get(d.kind, "> preStop sleep + GRPC_GRACE_SECONDS, so the drain is never cut short")
    why = (
        "No `replicas`: the HorizontalPodAutoscaler owns the count. terminationGracePeriodSeconds:\n"
        f"{drain}. Pods with a database wait (init container) until its schema is at this image's head."
        if d.database
        else f"No `replicas`: the HorizontalPodAutoscaler owns the count. terminationGracePeriodSeconds:\n{drain}."
    )
    docs.append((why, _deployment(reg, d)))
    docs.append(("", _hpa(d)))
    if d.database and d.image == d.name:
        docs.append(
            (
                "Alembic as a Job, never in the serving entrypoint. Jobs are immutable: delete the finished\n"
                "Job before applying a new image (docs/deploy.md). Idempotent: at head it does nothing.",
                _migration_job(reg, d),
            )
        )
    return _yaml_docs(docs, d.description)


def render_config_maps(reg: Registry) -> str:
    docs = [
        ("", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": dict(data)})
        for name, data in reg.config.items()
    ]
    return _yaml_docs(
        docs,
        "Non-secret settings (the [config.*] tables of the registry, with their comments there).\n"
        "Secrets are keys of the omnistock-secrets Secret instead.",
    )


def network_policies(reg: Registry) -> list[tuple[str, dict[str, Any]]]:
    """Default deny for every pod's ingress, then one allow per listening deployable: the gateway
    from the Ingress controller's namespace, every gRPC server from the deployables that call it
    (so a connector is reachable from channels and its worker only). Egress stays open: the
    connectors reach the vendors on the internet, and the data stores are outside the namespace."""
    docs: list[tuple[str, dict[str, Any]]] = [
        (
            "Nothing reaches a pod of this namespace unless a policy below allows it.",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "default-deny-ingress"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
            },
        )
    ]
    for d in reg.kubernetes:
        if d.port is None:
            continue
        if d.kind == "gateway":
            namespace = reg.project.get("ingress_namespace", "ingress-nginx")
            peers: list[dict[str, Any]] = [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
            ]
            why = f"{d.name}: from the Ingress controller (namespace {namespace}) only."
        else:
            callers = [c for c in reg.callers_of(d.name) if c.in_kubernetes]
            peers = [{"podSelector": {"matchLabels": _labels(c)}} for c in callers]
            why = f"{d.name}: from {', '.join(c.name for c in callers) or 'nobody'} only."
        rule: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": d.port}]}
        if peers:
            rule = {"from": peers, **rule}
        docs.append(
            (
                why,
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {"name": f"{d.name}-ingress", "labels": {"app.kubernetes.io/name": d.image}},
                    "spec": {
                        "podSelector": {"matchLabels": _labels(d)},
                        "policyTypes": ["Ingress"],
                        "ingress": [rule] if peers else [],
                    },
                },
            )
        )
    return docs


def render_network_policies(reg: Registry) -> str:
    return _yaml_docs(
        network_policies(reg),
        "Who may connect to whom, from each deployable's `calls` in the registry. Kubelet probes\n"
        "come from the node and are not subject to these policies on the common CNIs.",
    )


def render_kustomization(reg: Registry) -> str:
    files = ["config.yaml", *[f"{d.name}.yaml" for d in reg.kubernetes], "network-policies.yaml"]
    doc = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "labels": [{"pairs": {"app.kubernetes.io/part-of": "omnistock"}, "includeSelectors": False}],
        "resources": files,
    }
    return _yaml_docs(
        [("", doc)],
        "OmniStock base: every deployable of the registry except the sandboxes, the migration Jobs,\n"
        "ConfigMaps, HPAs and NetworkPolicies. No Secret values: Deployments reference keys of the\n"
        "omnistock-secrets Secret, which an overlay generates (dev) or which exists already (prod).\n"
        "PostgreSQL, Redis and RabbitMQ are expected as managed services or operators.",
    )


def render_pdbs(reg: Registry) -> str:
    docs = []
    for d in reg.kubernetes:
        if d.component != "server":
            continue
        docs.append(
            (
                "",
                {
                    "apiVersion": "policy/v1",
                    "kind": "PodDisruptionBudget",
                    "metadata": {"name": d.name},
                    "spec": {
                        "minAvailable": d.replicas.get("min_available", 1),
                        "selector": {"matchLabels": _labels(d)},
                    },
                },
            )
        )
    return _yaml_docs(docs, "Keep serving through node drains and cluster upgrades (prod overlay).")


def render_dev_secrets(reg: Registry) -> str:
    lines = [
        GENERATED_HEADER,
        "# The dev overlay's omnistock-secrets (secretGenerator envs): DEV-ONLY values anyone can read.",
    ]
    lines += [f"{key}={entry['dev']}" for key, entry in reg.secrets.items()]
    return "\n".join(lines) + "\n"


def render_images_region(reg: Registry, overlay: str) -> str:
    settings = reg.overlays.get(overlay, {})
    lines = ["images:"]
    for image in reg.images:
        if not any(d.in_kubernetes for d in reg.image_deployables(image)):
            continue
        lines.append(f"  - name: {reg.image_name(image)}")
        if settings.get("registry"):
            lines.append(f"    newName: {settings['registry']}{reg.image_name(image)}")
        lines.append(f'    newTag: "{settings.get("tag", "dev")}"')
    return "\n".join(lines) + "\n"
