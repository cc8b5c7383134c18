"""The request gate that both adapters drive: find the one token, verify it, decide.

``Verifier`` composes the strict core with its key sources (remote where configured) and
the revocation store; ``Gate`` adds token finding, CSRF, route rules and the refusals,
rendered once in ``responses`` for ASGI, WSGI and WebSocket alike.
"""
