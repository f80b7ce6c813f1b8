"""Inference on catalogues: a pushed model applied to objects nobody has labelled (`sdss-classify-catalog`)."""
