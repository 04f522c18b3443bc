"""The names the parts of the pipeline agree on, defined once.

The components write them into resources, the handlers read them back, the emulator deploys and drives
them and the simulator models them; a name restated in two packages drifts. Pulumi-free and
dependency-free so it ships in the Lambda archive and the Glue job's library.
"""

from __future__ import annotations

PROJECT = "landing-pipeline"
"""The Pulumi project name, and the namespace of every setting (``landing-pipeline:maxParallelGroups``)."""
