"""Component provider entry point: ``IngestionPipeline`` for TypeScript, Go, C#, Java and YAML stacks.

``pulumi package add <this repository>`` reads ``PulumiPlugin.yaml`` at the
repository root, runs this file, and asks it for its schema; Pulumi's analyzer
builds that schema from ``IngestionPipelineArgs`` (a TypedDict whose field
docstrings become the input descriptions) and from the annotated outputs of
``IngestionPipeline``, then generates an SDK in the consumer's language.
The consumer's ``new IngestionPipeline(...)`` is constructed here, in Python.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the plugin runs from this folder; landing_pipeline/ maps the root's packages
    sys.path.insert(0, str(ROOT))

from pulumi.provider.experimental import component_provider_host  # noqa: E402

from landing_pipeline.components.pipeline import IngestionPipeline  # noqa: E402

PACKAGE_NAME = "landing"
"""First part of every type token: ``landing:index:IngestionPipeline``."""
PACKAGE_VERSION = "0.2.0"
"""Kept equal to the version in pyproject.toml (a test checks)."""

if __name__ == "__main__":
    component_provider_host(components=[IngestionPipeline], name=PACKAGE_NAME, version=PACKAGE_VERSION)
