#!/usr/bin/env bash
# Installs what the tests need and runs them: a virtual environment from the lock file,
# Debian's Chromium and a CJK font for the browser tests, then lint, types, import contracts and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.lock
.venv/bin/pip install -q --disable-pip-version-check --no-deps -e .

if ! [ -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wqy"; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing Debian's chromium and fonts-wqy-microhei for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  else
    echo "not root: browser tests will skip unless /usr/bin/chromium is installed" >&2
  fi
fi

# pytest's assertion rewriting of the test modules, cached while the linters run: with
# PYTHONDONTWRITEBYTECODE set (as on CI's machines) each of the workers below would rewrite
# and compile every test module again at collection (10 s of CPU each); they read the cache
# whether or not they may write it. A collection error is reported by the run below.
env -u PYTHONDONTWRITEBYTECODE .venv/bin/pytest --collect-only -q -p no:cacheprovider >/dev/null 2>&1 &
warm=$!

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet --site-dir "$(mktemp -d)"
# mosu's bytecode, as pip writes it when it installs a wheel: with PYTHONDONTWRITEBYTECODE set
# (as on CI's machines) an editable install is otherwise compiled again by every process the
# tests start (mosu serve, workers, Ray's, the CLI), 0.3-0.8 s each
.venv/bin/python -m compileall -q -j 0 mosu
wait "$warm" || true
.venv/bin/pytest -n 3 --dist worksteal --durations=20 "$@"
