"""Framework front doors, one module per framework, each a thin layer over the gate.

Each imports its framework at import time: import only the one you use.
"""
