"""One runner per orchestrator, each thin over pipeline.assemble.assemble(RunConfig)."""

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads
