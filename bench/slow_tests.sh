#!/usr/bin/env bash
# The tests left out of the default run (marked `slow`): the PostgreSQL runs of end-to-end CLI tests whose use
# cases are already tested on PostgreSQL in tests/integration; and the long version of the three schedulers
# side by side (20,000 deadlines, where CI fires 5,000). Starts the same throwaway PostgreSQL as CI.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/postgres.sh
source .ci/postgres.sh
start_postgres
trap stop_postgres EXIT
.venv/bin/pytest -q -n auto -m slow "$@"
REDRESS_SIDE_BY_SIDE_COMPLAINTS=5000 .venv/bin/pytest -q tests/e2e/test_side_by_side.py "$@"
