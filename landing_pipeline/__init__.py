"""landing-pipeline: ordered, exactly-once-in-effect file ingestion on AWS, as a Pulumi component.

The public API, for a Pulumi program of your own::

    from landing_pipeline import IngestionPipeline, PipelineSpec, load_stack, SpecError

Everything else (``landing_pipeline.runtime``, ``.components``, ``.simulator``, ``.emulator``,
``.cli``) is importable but may change between minor versions.

Names are resolved lazily (PEP 562): ``import landing_pipeline.runtime.spec`` from a Lambda, the Glue
job or ``landing simulate`` must not pay for importing Pulumi and pulumi-aws, which only the component
needs.

In a checkout of the repository the sub-packages are folders beside this one (``components/``,
``runtime/``, ...: the layout the project is specified with); the installed distribution maps them
under this namespace. When this file runs from a checkout that was not installed (a Pulumi program run
with a virtualenv that only holds the dependencies, or the component provider), the checkout's root is
added to this package's search path so that ``landing_pipeline.components`` still resolves to
``components/``. An installed wheel has its sub-packages inside this folder and is left alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

_HERE = Path(__file__).resolve().parent
_CHECKOUT = _HERE.parent
if not (_HERE / "runtime").is_dir() and (_CHECKOUT / "runtime" / "spec.py").is_file():
    __path__.append(str(_CHECKOUT))

if TYPE_CHECKING:
    from landing_pipeline.components.pipeline import IngestionPipeline, IngestionPipelineArgs
    from landing_pipeline.runtime.errors import ConfigurationError, LandingError, SpecError
    from landing_pipeline.runtime.spec import PipelineSpec
    from landing_pipeline.runtime.spec_loader import load_stack

__all__ = [
    "ConfigurationError",
    "IngestionPipeline",
    "IngestionPipelineArgs",
    "LandingError",
    "PipelineSpec",
    "SpecError",
    "__version__",
    "load_stack",
]

__version__ = "0.2.0"

_LAZY = {
    "IngestionPipeline": "landing_pipeline.components.pipeline",
    "IngestionPipelineArgs": "landing_pipeline.components.pipeline",
    "PipelineSpec": "landing_pipeline.runtime.spec",
    "load_stack": "landing_pipeline.runtime.spec_loader",
    "SpecError": "landing_pipeline.runtime.errors",
    "ConfigurationError": "landing_pipeline.runtime.errors",
    "LandingError": "landing_pipeline.runtime.errors",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'landing_pipeline' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
