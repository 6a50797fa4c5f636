"""Liveness and readiness probes (outside /api/v1, as API.md and Kubernetes expect)."""

from __future__ import annotations

from gateway.api import ApiModule, deps
from gateway.errors import ApiProblem
from gateway.schemas import OutModel

api = ApiModule("health", tag="Health", prefix="")


class Liveness(OutModel):
    status: str


class Readiness(OutModel):
    status: str
    backends: dict[str, str]


@api.route("GET", "/healthz", summary="Liveness", permission=None, response=Liveness)
def healthz() -> Liveness:
    """200 while the process can answer HTTP at all; checks nothing else on purpose."""
    return Liveness(status="ok")


@api.route(
    "GET",
    "/readyz",
    summary="Readiness",
    permission=None,
    response=Readiness,
    problems=(503,),
)
def readyz() -> Readiness:
    """200 only when every configured backend answers grpc.health.v1 Check with SERVING."""
    results = deps().readiness.check()
    failing = sorted(name for name, status in results.items() if status != "SERVING")
    if failing:
        raise ApiProblem(
            503,
            "not ready: " + ", ".join(f"{name} ({results[name]})" for name in failing),
            title="Service Unavailable",
            failing=failing,
            backends=results,
        )
    return Readiness(status="ready", backends=results)
