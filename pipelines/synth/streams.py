"""Random streams of the generator: every draw comes from a stream keyed by its purpose.

A stream is ``stream(purpose, ...)``, seeded from (``_SALT``, purpose, keys ...). Distinct purposes
never share a stream, so adding draws to one purpose leaves every other purpose's data unchanged.
"""

from __future__ import annotations

import numpy as np

_SALT = 0xA100
# Purposes: clean row groups, their fault injections, the fault plan, the broken files'
# videos, the text tables.
DATA, FAULTS, PLAN, BAD, LEXICON = 1, 2, 3, 4, 5


def stream(*keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([_SALT, *keys]))
