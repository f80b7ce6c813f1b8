"""One runner per orchestrator, each thin over pipeline.assemble.assemble(RunConfig)."""

import pipeline  # noqa: F401 - sets the process environment (TF_USE_LEGACY_KERAS) before anything imports TF
