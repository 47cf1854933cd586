"""The benchmark suite of the Events API (issue 3): data generator, load scripts, runner.

Run it with `python bench/run.py` (see docs/benchmarks.md).
"""
