"""The issuing side: signing keys and rotation, access tokens, refresh rotation, JWKS publishing, cookies.

Imports ``core`` only; the middleware never needs this wing to verify.
"""
