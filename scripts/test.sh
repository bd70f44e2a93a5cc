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
  # PLANNER_SHIPPED_KERNELS=0: the kernels the install compiled (unchecked) must not be seeded
  # into this cache: numba's cache key does not include bounds checking, so they would be used
  NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR="$bc_cache" PLANNER_SHIPPED_KERNELS=0 \
    python -m pytest -q -p no:cacheprovider tests/test_engine.py tests/test_kernel_safety.py \
      tests/test_isochrone_trace.py
  bc=$?
  rm -rf "$bc_cache"
  echo "bounds-checked kernel tests: exit $bc in $((SECONDS - start)) s"
fi
# The whole suite. Without arguments it runs as two pytest processes side by side (the browser
# tests wait on chromium and the app server most of the time, one core would sit idle): the
# browser and slow tests (-m "browser or slow"), and all the others, shown live; the first
# group's log follows, then one summary line for the whole suite. Arguments (paths, -k, -m ...)
# or PLANNER_TEST_JOBS=1: one pytest process, as before.
if [ "$#" -eq 0 ] && [ "${PLANNER_TEST_JOBS:-2}" != "1" ]; then
  logs=$(mktemp -d)
  start=$SECONDS
  python -m pytest -q -m "browser or slow" >"$logs/browser_or_slow.log" 2>&1 &
  pid=$!
  trap 'kill "$pid" 2>/dev/null; exit 130' INT TERM
  python -m pytest -q -m "not (browser or slow)" 2>&1 | tee "$logs/others.log"
  rc_others=${PIPESTATUS[0]}
  wait "$pid"
  rc_slow=$?
  trap - INT TERM
  echo "===== the browser and slow tests (run alongside) ====="
  cat "$logs/browser_or_slow.log"
  # one line for the whole suite (each log's last summary line, added up) and one exit code:
  # an error of pytest itself (2-4) first, then a failure (1); 5 only when neither ran a test
  python - "$rc_others" "$rc_slow" $((SECONDS - start)) "$logs"/*.log <<'PY'
import re, sys
codes, seconds, logs = [int(c) for c in sys.argv[1:3]], sys.argv[3], sys.argv[4:]
counts = {}
for log in logs:
    lines = [x.strip("= ") for x in open(log, encoding="utf-8", errors="replace")]
    last = next((x for x in reversed(lines) if re.search(r" in [0-9.]+s", x)), "")
    for n, word in re.findall(r"(\d+) ([a-z]+)", last.split(" in ")[0]):
        if word != "deselected":
            counts[word] = counts.get(word, 0) + int(n)
order = ["failed", "passed", "skipped", "xfailed", "xpassed", "warnings", "warning", "errors", "error"]
words = sorted(counts, key=lambda w: order.index(w) if w in order else len(order))
print(", ".join(f"{counts[w]} {w}" for w in words) + f" in {seconds} s (two pytest processes)")
bad = [c for c in codes if c not in (0, 1, 5)]
sys.exit(max(bad) if bad else 1 if 1 in codes else 5 if codes == [5, 5] else 0)
PY
  rc=$?
  rm -rf "$logs"
else
  python -m pytest -q "$@"
  rc=$?
fi
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
