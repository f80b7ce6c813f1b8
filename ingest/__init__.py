"""Everything that produces the pipeline's input records: simulate, import, download."""
