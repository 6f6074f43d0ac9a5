"""Property tests draw the same examples on every run, so a red suite always means a changed program;
`HYPOTHESIS_PROFILE=explore` searches new examples instead (and keeps failures in .hypothesis/). No example
has a deadline: a test here asserts what a program does, never how fast (a loaded CI machine took one
example 560 ms against Hypothesis' default 200 ms, and the suite failed for it)."""

import os

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
