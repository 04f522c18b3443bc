"""The whole configuration the Pulumi engine hands the program, as one flat mapping.

``pulumi.Config`` reads one key at a time and would silently ignore a mistyped
key; the spec wants every ``landing-pipeline:*`` key at once, to reject unknown
ones with a did-you-mean. The engine passes the stack's config (project
defaults from ``Pulumi.yaml`` already merged in) as the ``PULUMI_CONFIG``
environment variable, and the mock runtime sets it with ``set_all_config``;
this reads both, the way ``pulumi.runtime.config.get_config`` does per key.
"""

from __future__ import annotations

import os
from typing import Any

import pulumi
from pulumi.runtime import config as pulumi_config

from landing_pipeline.runtime.errors import SpecError
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_loader import spec_from_config


class InvalidStackConfig(SpecError, pulumi.RunError):
    """The stack's configuration is invalid. A ``RunError``, so ``pulumi up`` prints the problems
    without a Python traceback; a ``SpecError``, so callers (``landing plan``, tests) read ``.problems``."""


def program_config() -> dict[str, Any]:
    """Every config value visible to the program: ``PULUMI_CONFIG``, then keys set in-process win."""
    merged: dict[str, Any] = dict(pulumi_config.get_config_env())
    merged.update(pulumi_config.CONFIG.get())
    for key in list(merged):  # PULUMI_CONFIG_<KEY> overrides one value, as get_config honours it
        env_key = pulumi_config.get_config_env_key(key)
        if env_key in os.environ:
            merged[key] = os.environ[env_key]
    return merged


def program_spec() -> PipelineSpec:
    """The validated spec of the stack being deployed; every problem at once, before any resource."""
    try:
        return spec_from_config(program_config())  # the one validation path: landing config runs it too
    except SpecError as exc:
        raise InvalidStackConfig(exc.problems) from None
