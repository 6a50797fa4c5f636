"""gunicorn settings of the gateway: `gunicorn --config python:gateway.gunicorn_conf ...`.

The configuration is checked in the master before any worker forks, so bad settings (or
development secrets under OMNISTOCK_ENV=production) end gunicorn itself with one line and exit 2
instead of a crash loop of workers.
"""

from __future__ import annotations

from typing import Any

from gateway.config import load_settings
from omnistock_common.config import exit_on_config_error, load_internal_auth_settings

# gunicorn's own error answers (414 request line too long, 431 headers too large, 400 malformed
# request) as problem+json like every other error of the API (gateway.gunicorn_worker). A
# threaded worker, as `--threads` would select.
worker_class = "gateway.gunicorn_worker.ProblemJsonWorker"


def on_starting(server: Any) -> None:
    """gunicorn hook: runs once in the master, before the workers are spawned."""
    exit_on_config_error(lambda: (load_settings(), load_internal_auth_settings()))
