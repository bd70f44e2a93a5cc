#!/usr/bin/env bash
# Install planner with its test extras (and Debian's chromium for the browser tests when this
# machine allows it), then run the whole test suite. The README's test command.
set -uo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[test]" || exit 1
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) \
    || echo "note: could not install chromium; browser tests will be skipped" >&2
fi
# Style is enforced, not hoped for: ruff format, ruff (with complexity <= 15) and mypy on planner/
# (configured in pyproject.toml; the same hooks as .pre-commit-config.yaml). They run before the
# tests; a failure is reported at the end so the test results are still shown.
lint=0
python -m ruff format --check --quiet . || { echo "FAILED: ruff format --check (run: ruff format .)" >&2; lint=1; }
python -m ruff check --quiet . || { echo "FAILED: ruff check" >&2; lint=1; }
python -m mypy || { echo "FAILED: mypy" >&2; lint=1; }
# The kernel tests again with numba's bounds checking (compiled kernels must be memory-safe for
# any input: an index out of bounds is an IndexError here instead of silent heap corruption). A
# throw-away cache keeps the checked builds out of the normal one. It runs first so that the last
# summary line is the whole suite's. PLANNER_SKIP_BOUNDSCHECK=1 skips it.
bc=0
if [ "${PLANNER_SKIP_BOUNDSCHECK:-0}" != "1" ]; then
  bc_cache=$(mktemp -d)
  start=$SECONDS
  NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR="$bc_cache" python -m pytest -q -p no:cacheprovider \
    tests/test_engine.py tests/test_kernel_safety.py
  bc=$?
  rm -rf "$bc_cache"
  echo "bounds-checked kernel tests: exit $bc in $((SECONDS - start)) s"
fi
python -m pytest -q "$@"
rc=$?
if [ "$rc" -ne 0 ]; then exit "$rc"; fi
if [ "$bc" -ne 0 ]; then
  echo "FAILED: the kernel tests under NUMBA_BOUNDSCHECK=1 (see above)" >&2
  exit 1
fi
if [ "$lint" -ne 0 ]; then
  echo "FAILED: style checks (ruff format, ruff, mypy; see the top of this log)" >&2
  exit 1
fi
exit 0
