"""Pusher executor that never leaves a partial version in the serving directory.

TFX's Pusher copies straight into `<base>/<version>/`. Killed mid-copy, it
leaves a numeric folder without all its files, and the next push, a second
later, writes a new version beside it: the broken one stays, and if it were
the newest, a model server or `predict.py` would try to load it. Here the copy
goes to a hidden `.<version>.partial` folder (a name no model server takes for
a version), saved_model.pb last, and is renamed into place only when complete.
Leftovers of killed pushes are removed first. On a local disk the rename is
atomic; on object stores (gs://) `tf.io.gfile` renames file by file, and
saved_model.pb, copied last, still marks a complete version, as TF Serving expects.
"""

from __future__ import annotations

import os
import time
from typing import Any

from tfx import types
from tfx.components.pusher import executor as tfx_pusher
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

PARTIAL_SUFFIX = ".partial"


def remove_partials(base: str) -> list[str]:
    """Deletes `.<version>.partial` folders left by pushes that were killed; returns what was removed."""
    if not fileio.exists(base):
        return []
    gone = [os.path.join(base, name.rstrip("/")) for name in fileio.listdir(base)
            if name.rstrip("/").startswith(".") and name.rstrip("/").endswith(PARTIAL_SUFFIX)]
    for path in gone:
        fileio.rmtree(path)
    return gone


def copy_model(model_path: str, serving_path: str) -> None:
    """Copies the SavedModel to `serving_path` through a hidden sibling, saved_model.pb last."""
    base, version = os.path.split(serving_path)
    staging = os.path.join(base, f".{version}{PARTIAL_SUFFIX}")
    io_utils.copy_dir(model_path, staging, deny_regex_patterns=[r"saved_model\.pb"])
    io_utils.copy_file(os.path.join(model_path, "saved_model.pb"), os.path.join(staging, "saved_model.pb"))
    fileio.rename(staging, serving_path)


class Executor(tfx_pusher.Executor):
    def Do(self, input_dict: dict[str, list[types.Artifact]], output_dict: dict[str, list[types.Artifact]],
           exec_properties: dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        model_push = artifact_utils.get_single_instance(output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(model_push)
            return
        model_path = self.GetModelPath(input_dict)
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination)
        if destination.WhichOneof("destination") != "filesystem":
            raise NotImplementedError("this Pusher writes to a filesystem destination only")
        base = destination.filesystem.base_directory
        remove_partials(base)
        version = str(int(time.time()))
        while fileio.exists(os.path.join(base, version)):  # two pushes within one second
            version = str(int(version) + 1)
        serving_path = os.path.join(base, version)
        copy_model(model_path, serving_path)
        io_utils.copy_dir(model_path, model_push.uri)  # the archive copy TFX's Pusher keeps too
        self._MarkPushed(model_push, pushed_destination=serving_path, pushed_version=version)
