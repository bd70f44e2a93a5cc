"""Record the kernel signatures that planner's build compiles ahead (``planner/_kernel_signatures.json``).

``python scripts/record_kernel_signatures.py`` runs the demo jobs below in fresh interpreters with
an empty numba cache and no shipped kernels, and records every call from Python into a planner
kernel that made numba compile (the kernels those call are compiled with them). Run it again
after changing a kernel's arguments or the dtypes its callers pass: ``tests/test_packaging.py``
fails when an installed wheel still compiles a planner kernel on the demo.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "planner" / "_kernel_signatures.json"

#: The jobs recorded: the README's first command, the same county by car, and siting.
JOBS = (
    ["coverage", "--raster-cell", "200"],
    ["coverage", "--raster-cell", "200", "--mode", "drive", "--no-map"],
    ["optimize", "--new-sites", "8"],
)

_CHILD = r"""
import json, sys
import numba.core.event as ev
from planner._numba_cache import encode_type

depth = [0]
calls = []

class _Top(ev.Listener):
    def on_start(self, event):
        if depth[0] == 0:
            d = event.data["dispatcher"]
            calls.append((d.py_func.__module__, d.py_func.__qualname__, event.data["args"]))
        depth[0] += 1

    def on_end(self, event):
        depth[0] -= 1

ev.register("numba:compile", _Top())
from planner.cli import main
code = main(sys.argv[1:])
out = [
    {"module": m, "name": n, "args": [encode_type(a) for a in args]}
    for m, n, args in calls
    if m.startswith("planner.")
]
print("RECORDED " + json.dumps({"code": code, "signatures": out}))
"""


def record(job: list[str], tmp: Path) -> list[dict]:
    """The top-level kernel compiles of one CLI job with an empty cache."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp / "numba"), PLANNER_SHIPPED_KERNELS="0")
    p = subprocess.run(
        [sys.executable, "-c", _CHILD, *job, "--out", str(tmp / "out")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if p.returncode != 0:
        sys.exit(f"{job} failed:\n{p.stderr[-3000:]}")
    line = next(x for x in p.stdout.splitlines() if x.startswith("RECORDED "))
    return json.loads(line[len("RECORDED ") :])["signatures"]


def main() -> int:
    seen: dict[str, dict] = {}
    for job in JOBS:
        with tempfile.TemporaryDirectory(prefix="planner-record-") as tmp:
            for rec in record(job, Path(tmp)):
                if "<locals>" in rec["name"]:
                    print(f"not recordable (nested function): {rec['module']}.{rec['name']}")
                    continue
                seen.setdefault(json.dumps(rec, sort_keys=True), rec)
        print(f"{' '.join(job)}: {len(seen)} signatures so far", flush=True)
    records = sorted(seen.values(), key=lambda r: (r["module"], r["name"], json.dumps(r["args"])))
    doc = {
        "about": "kernel signatures compiled when planner is built; written by "
        "scripts/record_kernel_signatures.py (jobs: "
        + "; ".join("planner " + " ".join(j) for j in JOBS)
        + ")",
        "signatures": records,
    }
    tmp_out = OUT.with_suffix(".json.tmp")
    # one signature a line: a diff shows which kernel's arguments changed
    lines = ",\n  ".join(json.dumps(r) for r in records)
    text = f'{{"about": {json.dumps(doc["about"])},\n "signatures": [\n  {lines}\n ]\n}}\n'
    tmp_out.write_text(text, encoding="utf-8")
    os.replace(tmp_out, OUT)
    print(f"wrote {len(records)} signatures to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
