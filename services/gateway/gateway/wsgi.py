"""WSGI entry point: `gunicorn 'gateway.wsgi:app'` (or `python -m gateway.wsgi` for a dev server)."""

from __future__ import annotations

from gateway.app import create_app
from gateway.config import load_settings
from omnistock_common.logging import setup_logging

_settings = load_settings()
setup_logging("gateway", _settings.log_level, _settings.log_format)
app = create_app(_settings)

if __name__ == "__main__":
    app.run(host=_settings.host, port=_settings.port, threaded=True)
