#!/usr/bin/env bash
# Auditing a vendor's stored scores with no model: the auditkit command line on a CSV.
#
# The vendor sends outcomes and its own output (a score and a decision) but no
# model: `--prediction-column` and `--score-column` audit those columns
# directly. Probes that only need outputs run (slice bias, what the errors
# cost, leakage between the columns and the outcome); probes that must query
# the model (NaN injection, permuting a feature) are skipped, each saying why.
#
#   examples/vendor_scores/audit_vendor.sh [OUT_DIR]
#
# Exit status: auditkit's own: 0 the audit passed its gate, 1 it failed, 2 bad input.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-vendor-out}"
mkdir -p "$out"

python "$here/make_vendor_file.py" "$out/vendor_scores.csv"

auditkit run \
    --data "$out/vendor_scores.csv" \
    --target bad_risk \
    --prediction-column vendor_decision \
    --score-column vendor_score \
    --sensitive sex \
    --cost-fp 1 --cost-fn 5 \
    --seed 0 \
    --json "$out/scorecard.json"
