"""The Pulumi program: read the stack's spec, build the pipeline, export what users need.

The spec is read from the stack's whole configuration at once and validated
before any resource is declared: an invalid setting stops ``pulumi up`` (and
``landing plan``) with every problem listed and nothing half-created.
"""

import pulumi

from landing_pipeline.components.config import program_spec
from landing_pipeline.components.pipeline import IngestionPipeline

spec = program_spec()  # raises InvalidStackConfig (every problem, no traceback) before any resource
pipeline = IngestionPipeline.from_spec("ingest", spec)

for output_name, value in pipeline.outputs().items():
    pulumi.export(output_name, value)
