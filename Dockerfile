# syntax=docker/dockerfile:1
# The one Dockerfile of OmniStock. DEPLOYABLE names an image of deploy/deployables.toml (a
# deployable without `image = ...`: catalog, inventory, channels, gateway, shopify-connector,
# woocommerce-connector); workers and the compose-only sandboxes run their service's image with
# another command. Build from the repository root:
#   docker build --build-arg DEPLOYABLE=catalog -t omnistock/catalog:0.1.0 .
# The base image is pinned to an exact patch release; CI should pin it by digest as well:
#   --build-arg PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:<digest>
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
# The dashboard's build stage (Vite 8 needs Node >= 20.19); pinned like the Python image.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---- web: the dashboard (web/) built from its lock file; the gateway serves web/dist ---------
FROM ${NODE_IMAGE} AS web
WORKDIR /web
COPY web/package.json web/package-lock.json web/.npmrc ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ---- builder: runtime dependencies, generated stubs and our packages in one venv -----------
FROM ${PYTHON_IMAGE} AS builder
ARG DEPLOYABLE
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN test -n "$DEPLOYABLE" || { echo "build with --build-arg DEPLOYABLE=<image> (deploy/deployables.toml)" >&2; exit 2; }
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Third-party runtime dependencies first, hash-checked: no pytest, ruff or honcho in an image.
# This layer changes only with the lock file and is shared by every image.
COPY requirements-runtime.lock ./
RUN pip install --require-hashes -r requirements-runtime.lock
COPY pyproject.toml ./
COPY proto ./proto
COPY libs ./libs
COPY services ./services
COPY deploy/deployables.toml ./deploy/deployables.toml
# 1. The registry (a stdlib-only package, run from a copy as the top-level `registry`) writes
#    the image's start and healthcheck scripts and copies the files its deployables need (worker
#    configs) under /app.
# 2. The dev tools library leaves the tree, so the install below cannot ship it.
# 3. Stubs with the same protoc invocation as `make proto`; a regular (non-editable) install.
# 4. Every deployable of this image must import from what was installed.
RUN mkdir /tmp/registry-tool && cp -r libs/omnistock_devtools/omnistock_devtools/registry /tmp/registry-tool/ \
 && PYTHONPATH=/tmp/registry-tool python -m registry --root /src image "$DEPLOYABLE" --app /app --bin /opt/venv/bin \
 && rm -rf libs/omnistock_devtools \
 && mkdir -p libs/omnistock_protos \
 && python -m grpc_tools.protoc -Iproto \
      --python_out=libs/omnistock_protos --pyi_out=libs/omnistock_protos \
      --grpc_python_out=libs/omnistock_protos $(find proto -name '*.proto') \
 && pip install --no-deps --no-build-isolation . \
 && cd / && PYTHONPATH=/tmp/registry-tool python -m registry --root /src imports "$DEPLOYABLE"

# ---- runtime: the venv and /app only, as an unprivileged user -------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 omnistock \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin omnistock
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
# The dashboard's static files (a few hundred kB; only the gateway serves them: GATEWAY_WEB_DIST_DIR).
COPY --from=web /web/dist /app/web/dist
# The root filesystem is read-only in Kubernetes: no bytecode writes (pip precompiled it),
# unbuffered logs straight to the collector.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEWAY_WEB_DIST_DIR=/app/web/dist
WORKDIR /app
USER 10001:10001
# Both scripts were written from the registry for DEPLOYABLE: its container command (gRPC
# servers listen on 0.0.0.0 unless told otherwise) and its probe. Compose and Kubernetes give
# workers their own command and probe. Migrations never run here: see the migrate service
# (compose) and the migration Jobs (k8s).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["omnistock-healthcheck"]
CMD ["omnistock-start"]
