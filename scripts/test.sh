#!/usr/bin/env bash
# Install the test dependencies, then lint (ruff), type-check (mypy) and run the whole
# test-suite.  This is the project's one test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# llama-cpp-python compiles from source (5-6 minutes the first time, then pip's wheel
# cache); the default native build crashes on these CPUs, so build it portable.
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
python -m pip install --quiet --disable-pip-version-check -e ".[use,bench,server,postgres,pii,kv,test]"
# The TypeScript client's tests run under Node 20 with npm (tests/test_typescript_client.py).
if ! command -v npm >/dev/null 2>&1; then
  echo "== installing Node.js and npm (Debian)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
# The console's tests drive Debian's headless Chromium through Playwright (its own browser
# download cannot run offline).
# (and a CJK font, so that Chinese text renders in its screenshots).
if ! dpkg -s chromium fonts-wqy-zenhei >/dev/null 2>&1; then
  echo "== installing Chromium and a CJK font (Debian)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null
fi
echo "== ruff"
python -m ruff check src tests examples
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
