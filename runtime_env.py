"""The process environment every entry point needs before TensorFlow loads: import this module first.

It lives at the top, outside every stage, so the bottom layer (ingest) and the top (runners, CLIs, benchmarks)
need not import each other for it. ruff's isort puts it in its own section, before third-party imports
(pyproject.toml), so the import order is enforced and no E402 exemption is needed. Beam workers and containers get
the same WORKER_ENV from the worker pool's environment or the Dockerfile (tests check both against this dict).
"""

import os

# Transform and TFMA need Keras 2 (tf_keras); TensorFlow 2.16 picks it only when this is set before tf.keras loads.
WORKER_ENV = {"TF_USE_LEGACY_KERAS": "1"}
# TensorFlow's C++ start-up chatter (INFO, WARNING) is not for the console; a user's own setting wins.
CONSOLE_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2"}

_USER_SET = {name for name in CONSOLE_ENV if name in os.environ}

for _name, _value in {**WORKER_ENV, **CONSOLE_ENV}.items():
    os.environ.setdefault(_name, _value)


def quiet_tensorflow() -> None:
    """For CLIs whose stderr is the user's (row errors in sdss-predict, the catalogue job, sdss-inspect): TensorFlow's
    start-up errors too (cuBLAS/cuDNN registration on a machine without a GPU), unless the user set a level.
    Call it before TensorFlow loads (these CLIs import it lazily)."""
    if "TF_CPP_MIN_LOG_LEVEL" not in _USER_SET:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
