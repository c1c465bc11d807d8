"""Shared pytest set-up.

Hypothesis explores new random cases on every developer run; under CI (``CI`` set, as
``.ci/run`` is) it is derandomized so that a CI result is repeatable.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, max_examples=200, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
