"""Benchmarks of planner: ``python -m bench [--quick] [--only NAME]`` runs the engine benchmark
(:mod:`bench.bench_engine`) and then the optimizer's (``bench.bench_optimize``)."""
