"""Ready auth endpoints over the issuing side: OAuth 2.0 token and revocation endpoints, metadata, the JWKS,
the browser's cookie mode, and login throttling. Imports ``gate``, ``issuing``, ``config`` and ``core``.

``from jwt_middleware.server import AuthEndpoints, auth_asgi_app, auth_wsgi_app``
"""

from .apps import auth_asgi_app, auth_wsgi_app
from .endpoints import AuthEndpoints

__all__ = ["AuthEndpoints", "auth_asgi_app", "auth_wsgi_app"]
