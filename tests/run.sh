#!/usr/bin/env bash
# Install everything the suite needs, then run all of it: Python (pytest), JavaScript (node --test),
# and the browser tests in headless Chromium. Safe to run again; it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# Python reads each module's bytecode from __pycache__ once written; with PYTHONDONTWRITEBYTECODE set
# (some images set it) every process compiled everything again: 2.9 s of CPU to import the server
# instead of 1.2, paid by each of the suite's ~40 server processes and by each pytest worker.
unset PYTHONDONTWRITEBYTECODE

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)   # shared state across processes
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)   # the proxy recipe, for real
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)   # the conversation store on PostgreSQL
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "Missing ${need_apt[*]}: install them (Debian: apt-get install ${need_apt[*]}) and run again." >&2
    exit 1
  fi
fi

# Beside pytest, each with its output kept for the end: the JavaScript tests (they need no Python,
# so they start before pip), lint, formatting and strict typing.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
jobs_started=()
beside() {  # NAME COMMAND...
  local name=$1
  shift
  "$@" >"$logs/$name" 2>&1 &
  jobs_started+=("$name:$!")
}
beside "node --test" node --test --test-reporter=dot tests/js/

[ -x .venv/bin/python ] || python3 -m venv .venv
# pip takes seconds to find nothing to do: install when the declared packages changed since the last
# install (the stamp names them). Remove .venv/.installed-* to install again all the same. No
# byte-compiling of every installed module: Python compiles the ones the suite imports, once.
installed=".venv/.installed-$(cat setup.cfg pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -e "$installed" ]; then
  # uv fetches and installs in parallel: the suite's packages in about 6 s where pip takes 21 s (uv
  # itself takes 7). pip still does the work where uv cannot be had.
  if .venv/bin/python -m pip install -q --disable-pip-version-check --no-compile uv; then
    .venv/bin/uv pip install -q --python .venv/bin/python -e '.[test]'
  else
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-compile -e '.[test]'
  fi
  rm -f .venv/.installed-* && touch "$installed"
fi

beside "ruff" sh -c '.venv/bin/ruff check . && .venv/bin/ruff format --check .'   # lint, one formatting (pyproject.toml)
beside "mypy" .venv/bin/python -m mypy                                              # strict typing (setup.cfg)

# Four workers on two cores: most tests wait on sockets, timers and Chromium more than on a core
# (with two workers the suite kept one core busy on average). At the end, the slowest tests, to keep
# the suite quick.
status=0
.venv/bin/python -m pytest --numprocesses=4 --durations=15 "$@" || status=$?

for job in "${jobs_started[@]}"; do
  name=${job%:*}
  if wait "${job##*:}"; then
    echo "$name: passed"
  else
    status=1
    echo "$name: FAILED"
    cat "$logs/$name"
  fi
done
exit $status
