"""The chat UI: server-side templates and plain JavaScript over the public HTTP API (no build step).

`mount_web(app)` adds the page at `/` and its static files at `/static`, each sent with a
Content-Security-Policy that allows no inline script.
"""

from app.web.routes import mount_web

__all__ = ["mount_web"]
