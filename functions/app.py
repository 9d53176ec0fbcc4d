"""The Chalice app: wires the areas' blueprints and the middleware, nothing else.

Every route becomes its own Lambda function with its own role at build time (infra/build.py);
a deployed function loads only its own area (chalicelib/areas.py).
"""

from __future__ import annotations

from chalicelib import areas, startup
from marketplace.web import middleware
from marketplace.web.http import Marketplace

app = Marketplace(app_name="marketplace", configure_logs=False)
app.register_middleware(middleware.chalice_errors_as_problems, "http")
for area in areas.load(areas.selected()):
    app.register_blueprint(area.bp)

startup.resume_collection()  # the function has loaded (chalicelib/startup.py)
