"""Reusable pyuvm verification library for ready/valid streams.

``ports`` describes and accesses stream ports, ``agents`` drives and observes them, ``predictor``
and ``scoreboard`` check them against a golden model, and ``bench`` assembles a complete pyuvm
test from a :class:`~sim.verif.ports.BenchSpec`.
"""
