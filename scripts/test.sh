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
python -m pytest -q "$@"
