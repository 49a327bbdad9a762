#!/usr/bin/env bash
# Install the test dependencies, then lint (ruff), type-check (mypy) and run the whole
# test-suite.  This is the project's one test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
python -m pip install --quiet --disable-pip-version-check -e ".[use,bench,server,postgres,pii,test]"
echo "== ruff"
python -m ruff check src tests
echo "== mypy"
python -m mypy
echo "== pytest"
set +e
python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit "$rc"
