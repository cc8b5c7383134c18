"""Settings: one frozen, typed object validated once, with the path and route rules it compiles.

Imports only ``core``. Every bad value raises ``ConfigError`` naming its key, at start-up.
"""
