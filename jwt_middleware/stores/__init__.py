"""State behind the core's protocols, one module per backend.

``memory``: for one process. ``redis``: shared by many (``pip install bearer-jwt-middleware[redis]``).
"""
