"""The strict core: JOSE parsing, claim rules, keys, grants and identity. No I/O, no threads.

Everything else stands on this wing, and it imports nothing outside itself. The
protocols of the extension points that the verifier drives (``KeySource``,
``RevocationStore``) are declared here; their implementations live in the wings above.
"""
