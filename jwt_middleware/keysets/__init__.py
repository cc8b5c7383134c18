"""Remote key sets (JWKS, OIDC discovery): a sans-I/O cache policy and the driver that fetches.

Imports ``core`` and ``config``; implements ``core.keys.KeySource``.
"""
