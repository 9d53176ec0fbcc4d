"""The API's areas, one module each; `http` holds what every route shares.

Logging and tracing are configured here, on first import of any area, because Lambda loads a
scheduled or task function by its module path (`chalicelib.outbox.relay_outbox`), not via app.py.
"""

from chalicelib import startup

startup.pause_collection()  # first, before the imports it is for (chalicelib/startup.py)

from marketplace import observability  # noqa: E402

observability.configure()
