"""Property tests draw the same examples on every run, so a red suite always means a changed program;
`HYPOTHESIS_PROFILE=explore` searches new examples instead (and keeps failures in .hypothesis/)."""

import os

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
