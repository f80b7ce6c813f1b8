"""The pipeline: its settings (configs), its definition (create_pipeline) and its assembly from a RunConfig."""
