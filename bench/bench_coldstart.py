"""``python -m bench.bench_coldstart``: what the first ``planner coverage`` after install compiles.

Runs the README's first command (``planner coverage --raster-cell 200 --out DIR``) in a fresh
interpreter with an empty ``NUMBA_CACHE_DIR`` (cold), then again with the cache it left (warm),
and reports wall and CPU seconds of each run and, for the cold run, every numba compilation:
the dispatcher's module and name, the signature, and the seconds spent compiling it (exclusive
of the kernels it compiled on the way, which numba compiles inside the caller's compile).
Signatures of one function that differ only in the dtype of an argument are flagged: each is a
full compile, and a caller that casts its arrays once would need one.

Timings on a shared machine are inflated by the others' load: read CPU seconds and the ratio
of cold to warm in the same run, and the load average printed with them.

The kernels compiled when planner was built (``planner/_kernel_cache``, see
:mod:`planner._numba_cache`) are seeded into the empty cache as on a fresh install;
``--no-shipped`` leaves them out (``PLANNER_SHIPPED_KERNELS=0``): the cost without the build step.

``--repeat N`` runs N cold/warm pairs (each cold run with a fresh empty cache) and prints the
medians; ``--markdown FILE`` writes the per-dispatcher table of the first cold run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# Run in the child: count every numba compile (inclusive and exclusive of nested compiles).
_CHILD = r"""
import json, sys, time
import numba.core.event as ev

records = []
stack = []

class _Listener(ev.Listener):
    def on_start(self, event):
        d = event.data["dispatcher"]
        name = d.py_func.__module__ + "." + d.py_func.__qualname__
        stack.append([time.perf_counter(), 0.0, name])

    def on_end(self, event):
        t0, nested, _ = stack.pop()
        took = time.perf_counter() - t0
        if stack:
            stack[-1][1] += took
        # the nearest planner kernel that made numba compile this one (for numba's own helpers)
        owner = next((s[2] for s in reversed(stack) if s[2].startswith("planner.")), "")
        d = event.data["dispatcher"]
        records.append({
            "owner": owner,
            "module": d.py_func.__module__,
            "name": d.py_func.__qualname__,
            "sig": ", ".join(str(a) for a in event.data["args"]),
            "inclusive": took,
            "exclusive": took - nested,
        })

ev.register("numba:compile", _Listener())
t0 = time.perf_counter()
from planner.cli import main
code = main(sys.argv[1:])
wall = time.perf_counter() - t0
print("COLDSTART " + json.dumps({"code": code, "compiles": records, "main_wall": wall}))
"""


def run_once(cache_dir: Path, out_dir: Path, *, extra_env: dict[str, str] | None = None) -> dict:
    """One ``planner coverage`` on the demo in a fresh interpreter; wall, CPU and compiles."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), **(extra_env or {}))
    argv = ["coverage", "--raster-cell", "200", "--out", str(out_dir)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-c", _CHILD, *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-3000:])
    line = next(x for x in p.stdout.splitlines() if x.startswith("COLDSTART "))
    res = json.loads(line[len("COLDSTART ") :])
    res["wall"] = wall
    res["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return res


def _dtype_free(sig: str) -> str:
    """The signature with dtypes blanked: two signatures equal here differ only in dtypes."""
    return re.sub(r"\b(u?int(8|16|32|64)|float(32|64)|bool)\b", "T", sig)


def per_dispatcher(compiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per compiled function: signatures, seconds, dtype-only duplicates."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    helpers: dict[str, float] = defaultdict(float)
    for c in compiles:
        groups[(c["module"], c["name"])].append(c)
        if not c["module"].startswith("planner") and c["owner"]:
            helpers[c["owner"]] += c["exclusive"]
    rows = []
    for (module, name), cs in groups.items():
        shapes: dict[str, list[str]] = defaultdict(list)
        for c in cs:
            shapes[_dtype_free(c["sig"])].append(c["sig"])
        # numba's own helpers are compiled again per calling kernel (same signature): only
        # distinct signatures of one planner function that differ in dtypes are duplicates
        dups = [sorted(set(sigs)) for sigs in shapes.values() if len(set(sigs)) > 1]
        if not module.startswith("planner"):
            dups = []
        rows.append(
            {
                "module": module,
                "name": name,
                "n": len(cs),
                "exclusive": sum(c["exclusive"] for c in cs),
                "inclusive": sum(c["inclusive"] for c in cs),
                "helpers": helpers.get(f"{module}.{name}", 0.0),
                "sigs": [c["sig"] for c in cs],
                "dups": dups,
            }
        )
    rows.sort(key=lambda r: -(r["exclusive"] + r["helpers"]))
    return rows


def markdown(rows: list[dict[str, Any]], cold: dict, warm: dict, load: str) -> str:
    """The findings table for the kernel owners."""
    total = sum(r["exclusive"] for r in rows)
    by_module: dict[str, float] = defaultdict(float)
    for r in rows:
        by_module[r["module"]] += r["exclusive"]
    out = [
        "# Cold start of `planner coverage --raster-cell 200` on the demo (empty NUMBA_CACHE_DIR)",
        "",
        f"Measured by `python -m bench.bench_coldstart` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"load average {load}).",
        f"Cold: {cold['wall']:.1f} s wall, {cold['cpu']:.1f} s CPU; warm (same cache, second run): "
        f"{warm['wall']:.1f} s wall, {warm['cpu']:.1f} s CPU. Compiling (exclusive seconds summed): "
        f"{total:.1f} s in {sum(r['n'] for r in rows)} compiles of {len(rows)} functions.",
        "",
        "Per module: "
        + ", ".join(f"`{m}` {s:.1f} s" for m, s in sorted(by_module.items(), key=lambda x: -x[1])),
        "",
        "Seconds are exclusive: a kernel's compile minus the compiles of the kernels it calls,"
        " which numba compiles inside it (inclusive in brackets).",
        "",
        "Helpers: seconds spent compiling numba's own implementations (np.empty, sorting, string"
        " formatting of error messages...) for this kernel, compiled again for each kernel that"
        " uses them.",
        "",
        "| function | module | #sigs | seconds (incl.) | + helpers | dtype-only duplicate signatures |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        dups = "; ".join(" / ".join(f"`({s})`" for s in d) for d in r["dups"]) or ""
        out.append(
            f"| `{r['name']}` | `{r['module']}` | {r['n']} | {r['exclusive']:.2f} "
            f"({r['inclusive']:.2f}) | {r['helpers']:.2f} | {dups} |"
        )
    out += ["", "## Every signature compiled", ""]
    for r in rows:
        out.append(f"- `{r['module']}.{r['name']}`:")
        out += [f"  - `({s})`" for s in r["sigs"]]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--markdown", type=Path, default=None)
    ap.add_argument("--no-warm", action="store_true", help="cold runs only")
    ap.add_argument("--no-shipped", action="store_true", help="without the build's kernels")
    args = ap.parse_args(argv)
    colds, warms = [], []
    with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp:
        for i in range(args.repeat):
            cache = Path(tmp) / f"cache{i}"
            cache.mkdir()
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            extra = {"PLANNER_SHIPPED_KERNELS": "0"} if args.no_shipped else {}
            cold = run_once(cache, Path(tmp) / f"out{i}", extra_env=extra)
            print(
                f"cold {i}: {cold['wall']:.1f} s wall, {cold['cpu']:.1f} s CPU, "
                f"{len(cold['compiles'])} compiles (load {load})",
                flush=True,
            )
            colds.append(cold)
            if not args.no_warm:
                warm = run_once(cache, Path(tmp) / f"outw{i}", extra_env=extra)
                print(
                    f"warm {i}: {warm['wall']:.1f} s wall, {warm['cpu']:.1f} s CPU, "
                    f"{len(warm['compiles'])} compiles",
                    flush=True,
                )
                warms.append(warm)
    med = statistics.median
    print(
        f"median cold {med(c['wall'] for c in colds):.1f} s wall / "
        f"{med(c['cpu'] for c in colds):.1f} s CPU"
        + (
            f"; warm {med(w['wall'] for w in warms):.1f} s wall / "
            f"{med(w['cpu'] for w in warms):.1f} s CPU"
            if warms
            else ""
        )
    )
    rows = per_dispatcher(colds[0]["compiles"])
    for r in rows[:15]:
        print(
            f"  {r['exclusive']:6.2f} s (+{r['helpers']:.2f} helpers) {r['n']:3d} sigs  "
            f"{r['module']}.{r['name']}"
        )
    if args.markdown:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        warm0 = warms[0] if warms else {"wall": float("nan"), "cpu": float("nan")}
        args.markdown.write_text(markdown(rows, colds[0], warm0, load), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
