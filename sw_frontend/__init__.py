"""The `ch` command line: train, test, transform, search, emit, sim, synth."""

__version__ = "0.1.0"
