"""Fake Kolada and SCB servers on 127.0.0.1, for tests, ``malbild demo`` and benchmarks."""
