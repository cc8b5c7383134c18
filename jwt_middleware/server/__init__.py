"""Ready auth endpoints over the issuing side: OAuth 2.0 token and revocation endpoints, metadata, the JWKS,
the browser's cookie mode, and login throttling. Imports ``gate``, ``issuing``, ``config`` and ``core``."""
