"""malbild's benchmark harness (GitHub issue #4): `python -m benchmarks.run`, see README.md."""
