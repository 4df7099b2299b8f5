"""auditkit's built-in probes.

Each probe is registered under the ``auditkit.probes`` entry-point group in
auditkit's own ``pyproject.toml``, exactly as a third-party probe package
registers its own; ``auditkit`` itself never imports this package.
"""
