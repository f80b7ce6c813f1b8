"""From a runner's parsed flags to what assemble() takes: one settled RunConfig and the Beam args.

Every runner declares the same flags (pipeline/run_config.add_run_arguments, runners/beam.add_arguments) and
refuses the same mistakes with the same message before anything starts.
"""

from __future__ import annotations

import argparse

from pipeline.run_config import RunConfig, settle
from runners import beam


def from_flags(args: argparse.Namespace) -> tuple[RunConfig, list[str]]:
    """pipeline.run_config.ConfigError says what is wrong with the flags, so a user can fix it (runners exit 2)."""
    return settle(RunConfig.from_namespace(args)), beam.beam_args(beam.from_namespace(args))
