"""The catalogue job's drivers: Beam (any Beam runner) and Spark (any Spark master), thin over inference/job.py."""
