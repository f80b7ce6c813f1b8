"""The pipeline: its settings (configs), its definition (create_pipeline) and its assembly from a RunConfig.

Importing this package sets the environment every process of the pipeline needs before TensorFlow loads: the
runners, the CLIs and the tests import it first; Beam workers and containers get the same WORKER_ENV from the
worker pool's environment or the Dockerfile (tests check both against this dict).
"""

import os

# Transform and TFMA need Keras 2 (tf_keras); TensorFlow 2.16 picks it only when this is set before tf.keras loads.
WORKER_ENV = {"TF_USE_LEGACY_KERAS": "1"}

for _name, _value in WORKER_ENV.items():
    os.environ.setdefault(_name, _value)
