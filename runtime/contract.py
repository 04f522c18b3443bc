"""The names the parts of the pipeline agree on, defined once.

The components write them into resources, the handlers read them back, the emulator deploys and drives
them and the simulator models them; a name restated in two packages drifts. Pulumi-free and
dependency-free so it ships in the Lambda archive and the Glue job's library.
"""

from __future__ import annotations

PROJECT = "landing-pipeline"
"""The Pulumi project name, and the namespace of every setting (``landing-pipeline:maxParallelGroups``)."""

INPUT_DELETED = "input deleted:"
"""How a run's error starts when its input was checked and is gone (the job's HeadObject, the emulator's
GetObject of the version): the completion path makes such a file DEAD at once, and only such a file
(runtime/outcomes.py); a Spark PATH_NOT_FOUND alone may name another path (a snapshot version)."""
