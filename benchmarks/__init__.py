"""auditkit's benchmarks: how fast an audit runs and how far its findings can be trusted.

Run from the repository root::

    python -m benchmarks.run              # speed and scaling (writes results/latest.json, README table)
    python -m benchmarks.run --quality    # detection quality over many seeds
    python -m benchmarks.run --smoke      # a tiny version of both, in seconds

``benchmarks.synthetic`` builds the data and models with planted defects of
known size; ``benchmarks.quality`` runs the audits and counts what was found.
"""
