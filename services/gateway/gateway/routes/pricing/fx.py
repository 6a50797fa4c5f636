"""The tenant's FX rates: read and replace."""

from __future__ import annotations

from flask import request

from gateway import pricing_schemas as s
from gateway.api import RouteGroup
from gateway.domain import Permission
from gateway.errors import ApiProblem
from gateway.mapping import pricing as m
from gateway.routes.pricing.client import pricing, pricing_bulk
from omnistock.pricing.v1 import pricing_service_pb2 as pb

routes = RouteGroup()


@routes.route(
    "GET",
    "/fx-rates",
    summary="Get the FX rates",
    permission=Permission.PRICING_READ,
    response=s.FxRatesOut,
)
def get_fx_rates() -> s.FxRatesOut:
    """1 `base` = `rates[c]` units of c, as decimal strings, each with when it last changed."""
    reply = pricing().GetFxRates(pb.GetFxRatesRequest())
    return m.fx_out(reply.base, list(reply.rates), reply.threshold_percent)


@routes.route(
    "PUT",
    "/fx-rates",
    summary="Replace the FX rates",
    permission=Permission.PRICING_WRITE,
    body=s.FxRatesIn,
    response=s.FxRatesOut,
    problems=(503,),
)
def set_fx_rates(body: s.FxRatesIn) -> s.FxRatesOut:
    """Validated as a whole (every problem named, nothing changed on any). Audited per rate.
    Derived prices that move by at least the tenant's threshold (default 1%) are pushed again
    (`repriced`)."""
    request_pb = pb.SetFxRatesRequest(
        base=body.base, rates=body.rates, threshold_percent=body.threshold_percent or ""
    )
    reply = pricing_bulk().SetFxRates(request_pb)
    return m.fx_out(reply.base, list(reply.rates), reply.threshold_percent, reply.repriced)


_CSV_BODY = {"text/csv": {"schema": {"type": "string", "example": "currency,rate\nEUR,0.92\nGBP,0.79\n"}}}
MAX_CSV_BYTES = 1024 * 1024


@routes.route(
    "POST",
    "/fx-rates/import",
    summary="Import FX rates from CSV",
    permission=Permission.PRICING_WRITE,
    query=s.FxImportQuery,
    response=s.FxRatesOut,
    problems=(413, 415, 503),
    request_content=_CSV_BODY,
    max_body_bytes=MAX_CSV_BYTES,
)
def import_fx_rates(query: s.FxImportQuery) -> s.FxRatesOut:
    """A `text/csv` body with a `currency,rate` header; its rates are merged over the current
    table (same base), then stored like PUT /fx-rates. Every bad line is named; nothing changes."""
    if request.mimetype != "text/csv":
        raise ApiProblem(415, "send the rates as text/csv with a currency,rate header")
    request_pb = pb.ImportFxRatesRequest(
        base=query.base or "", csv=request.get_data(), threshold_percent=query.threshold_percent or ""
    )
    reply = pricing_bulk().ImportFxRates(request_pb)
    return m.fx_out(reply.base, list(reply.rates), reply.threshold_percent, reply.repriced)
