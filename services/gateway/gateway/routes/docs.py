"""The OpenAPI document and a self-contained page that renders it (no CDN, no external assets)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from flask import Flask, Response, current_app, json

from gateway.api import ApiModule, registered_operations
from gateway.openapi import build_document

api = ApiModule("docs", tag="Docs")


def build_document_for(app: Flask) -> dict[str, Any]:
    """`app`'s OpenAPI document. Routes are fixed once the app is built, so it is built once per
    app; gateway.openapi_snapshot writes the same document to web/openapi.json."""
    cache = app.extensions.setdefault("omnistock.openapi", {})
    if "doc" not in cache:
        cache["doc"] = build_document(registered_operations(app))
    return cache["doc"]


def _document() -> dict[str, Any]:
    return build_document_for(current_app)


@api.route(
    "GET",
    "/openapi.json",
    summary="OpenAPI document",
    permission=None,
    response_content={"application/json": {"schema": {"type": "object"}}},
)
def openapi_json() -> Response:
    """This API's OpenAPI 3.1 document, generated from the registered routes."""
    return Response(json.dumps(_document()), mimetype="application/json")


_SCRIPT = r"""
(function () {
  var root = document.getElementById("ops");
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function resolve(doc, schema) {
    if (schema && schema.$ref) {
      var name = schema.$ref.split("/").pop();
      return { name: name, schema: doc.components.schemas[name] };
    }
    return { name: "", schema: schema };
  }
  function schemaBlock(doc, label, schema) {
    var box = el("div", "schema");
    var r = resolve(doc, schema);
    box.appendChild(el("h4", "", label + (r.name ? " — " + r.name : "")));
    box.appendChild(el("pre", "", JSON.stringify(r.schema, null, 2)));
    return box;
  }
  fetch("openapi.json").then(function (r) { return r.json(); }).then(function (doc) {
    document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
    document.getElementById("desc").textContent = doc.info.description || "";
    Object.keys(doc.paths).sort().forEach(function (path) {
      var item = doc.paths[path];
      Object.keys(item).forEach(function (method) {
        var op = item[method];
        var d = el("details", "op " + method);
        var s = el("summary");
        s.appendChild(el("span", "method", method.toUpperCase()));
        s.appendChild(el("code", "path", path));
        s.appendChild(el("span", "sum", op.summary || ""));
        var roles = op["x-roles"] || [];
        s.appendChild(el("span", "roles", roles.length ? "roles: " + roles.join(", ") : "public"));
        d.appendChild(s);
        if (op.description) d.appendChild(el("p", "", op.description));
        (op.parameters || []).forEach(function (p) {
          var req = p.required ? " (required)" : "";
          var line = p.in + " " + p.name + req + ": " + JSON.stringify(p.schema);
          d.appendChild(el("div", "param", line));
        });
        if (op.requestBody) {
          Object.keys(op.requestBody.content).forEach(function (ct) {
            d.appendChild(schemaBlock(doc, "Request " + ct, op.requestBody.content[ct].schema));
          });
        }
        Object.keys(op.responses).forEach(function (status) {
          var resp = op.responses[status];
          var content = resp.content || {};
          var types = Object.keys(content);
          var text = status + " " + resp.description;
          if (status === "default") return;
          if (!types.length) { d.appendChild(el("div", "param", text)); return; }
          if (Number(status) >= 400) { d.appendChild(el("div", "param", text + " (problem+json)")); return; }
          types.forEach(function (ct) {
            d.appendChild(schemaBlock(doc, status + " " + ct, content[ct].schema));
          });
        });
        root.appendChild(d);
      });
    });
  }).catch(function (err) { root.textContent = "could not load openapi.json: " + err; });
})();
"""

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
details.op { border: 1px solid #ccc; border-radius: 6px; margin: .4rem 0; padding: .3rem .6rem; }
summary { cursor: pointer; display: flex; gap: .8rem; align-items: baseline; }
.method { font-weight: bold; width: 4.5rem; }
.get .method { color: #1565c0; } .post .method { color: #2e7d32; }
.patch .method, .put .method { color: #ef6c00; } .delete .method { color: #c62828; }
.sum { flex: 1; } .roles { color: #666; font-size: 12px; }
pre { background: #f6f8fa; padding: .5rem; overflow: auto; max-height: 24rem; }
.param { font-family: monospace; margin: .2rem 0; }
"""


def _sha256_csp(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


@api.route(
    "GET",
    "/docs",
    summary="API documentation page",
    permission=None,
    response_content={"text/html": {"schema": {"type": "string"}}},
)
def docs_page() -> Response:
    """A human-readable rendering of /api/v1/openapi.json; works offline."""
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>OmniStock API</title>"
        f"<style>{_STYLE}</style></head><body><h1 id='title'>OmniStock API</h1><p id='desc'></p>"
        "<p><a href='openapi.json'>openapi.json</a></p><div id='ops'></div>"
        f"<script>{_SCRIPT}</script></body></html>"
    )
    response = Response(html, mimetype="text/html")
    # Only our own inline script and style may run on this page.
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src {_sha256_csp(_SCRIPT)}; style-src {_sha256_csp(_STYLE)}"
    )
    return response
