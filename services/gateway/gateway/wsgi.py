"""WSGI entry point: `gunicorn 'gateway.wsgi:app'` (or `python -m gateway.wsgi` for a dev server)."""

from __future__ import annotations

import sys

from gateway.app import create_app
from gateway.config import load_settings
from omnistock_common.config import exit_on_config_error, load_internal_auth_settings
from omnistock_common.logging import setup_logging

# Bad settings (or development secrets under OMNISTOCK_ENV=production) stop the process with one
# line. A gunicorn worker exits 3 (gunicorn's "worker failed to boot"), which halts the master;
# with 2 it would be respawned forever. gateway.gunicorn_conf checks earlier, in the master (exit 2).
_code = 3 if "gunicorn.arbiter" in sys.modules else 2
_settings = exit_on_config_error(load_settings, code=_code)
exit_on_config_error(load_internal_auth_settings, code=_code)  # INTERNAL_TOKEN_SECRET (backends)
setup_logging("gateway", _settings.log_level, _settings.log_format)
app = create_app(_settings)

if __name__ == "__main__":
    app.run(host=_settings.host, port=_settings.port, threaded=True)
