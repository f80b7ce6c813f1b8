"""Beam's DaskRunner on a local dask.distributed cluster: does the catalogue job run there, and the pipeline?

    pip install --target /tmp/dask --no-deps dask==2024.12.1 distributed==2024.12.1 fsspec locket msgpack \\
        partd tblib toolz zict sortedcontainers          # kept out of requirements.lock: see BENCHMARKS.md
    python -m benchmarks.dask_probe --dask-path /tmp/dask --model-dir V --records 'data/simulated/test/*.tfrecord.gz'

Flink and Spark need job-server jars that cannot be fetched here; Dask is pure Python. The probe starts a
scheduler and two single-thread workers on 127.0.0.1 as separate processes, runs the catalogue job
(inference/job.py) with `--runner=DaskRunner`, then the pipeline's Beam components (a LocalDagRunner run whose
Beam args name the DaskRunner), and writes down exactly what each did. Everything it starts it stops.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import runtime_env

from benchmarks.common import REPO, header, parse, parser, publish

TITLE = "Beam on Dask (a local dask.distributed cluster)"
# Read in apache_beam/runners/dask (2.74) while making the job run there; the probe shows the consequences.
SOURCE_NOTES = (
    "`DaskRunner.run_pipeline` computes only the bag of the pipeline's last transform (its comment: \"we can get "
    "away with computing just the last value\"): a pipeline with several sinks runs one of them. The job now ends "
    "in one Flatten of its three sinks for that reason.",
    "`DaskRunnerResult.metrics()` raises NotImplementedError, so the job counts the rows it read into a file of its "
    "own instead of a Beam counter.",
    "A multi-output ParDo (`with_outputs`) delivered main-output elements to the tagged output: the job splits "
    "accepted and rejected rows with two Filters instead.",
    "Side inputs are evaluated by computing their bag again inside the consuming task, so a file sink's "
    "finalization (which reads the written shards as a side input) sees a recomputed, different set of "
    "temporary files: the Parquet sink finalizes an empty shard and temporary folders stay behind.",
)
PORT = 8786


def start_cluster(dask_path: str, work: Path) -> list[subprocess.Popen]:
    env = {**os.environ, **runtime_env.WORKER_ENV, "PYTHONPATH": os.pathsep.join([str(REPO), dask_path]),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    common = ["--no-dashboard", "--host", "127.0.0.1"]
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", str(PORT), *common],
                              env=env, stdout=open(work / "scheduler.log", "w"), stderr=subprocess.STDOUT)]
    time.sleep(4)
    for k in range(2):
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", f"tcp://127.0.0.1:{PORT}",
                                       "--nthreads", "1", *common], env=env,
                                      stdout=open(work / f"worker{k}.log", "w"), stderr=subprocess.STDOUT))
    time.sleep(6)
    return procs


def beam_args() -> list[str]:
    return ["--runner=apache_beam.runners.dask.dask_runner.DaskRunner", f"--dask_client_address=127.0.0.1:{PORT}"]


def catalogue(model_dir: str, records: str, out: Path) -> list[str]:
    """The job's counts against what its sinks left (the CLI refuses an output whose counts do not add up)."""
    import pyarrow.parquet as pq

    from inference import job

    out.mkdir()
    try:
        counts = job.run(job.Source(records=records), model_dir, str(out), beam_args())
    except Exception as e:  # noqa: BLE001 - the failure is the finding
        return _failure(e)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    rows = {f: pq.ParquetFile(out / f).metadata.num_rows for f in files if f.endswith(".parquet")}
    ok = counts["read"] == counts["written"] + counts["rejected"]
    return [f"counts: read {counts['read']}, written {counts['written']}, rejected {counts['rejected']} "
            f"({'they add up' if ok else 'they do not add up: the CLI would discard this output, exit 1'})",
            f"Parquet rows per file: {rows}",
            f"left behind: {[f for f in files if 'beam-temp' in f] or 'nothing'}"]


def pipeline_run(data_dir: str, work: Path) -> list[str]:
    from tfx.orchestration import metadata
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    from pipeline.assemble import RunConfig, assemble

    cfg = RunConfig(data_dir=data_dir, pipeline_root=str(work / "root"), serving_dir=str(work / "serving"),
                    epochs=1, accuracy_floor=0.0, class_recall_floor=0.0)
    try:
        LocalDagRunner().run(assemble(cfg, beam_pipeline_args=beam_args(), metadata_connection_config=(
            metadata.sqlite_metadata_connection_config(str(work / "md.sqlite")))))
    except Exception as e:  # noqa: BLE001 - the failure is the finding
        return _failure(e) + [f"component states: {_states(work / 'md.sqlite')}"]
    return ["completed"]


def _states(path: Path) -> str:
    from pipeline import metadata as md
    from pipeline.configs import PIPELINE_NAME

    runs = md.latest_node_runs(md.open_store(str(path)), PIPELINE_NAME)
    ordered = sorted(runs.items(), key=lambda kv: kv[1].execution.id)
    return ", ".join(f"{node} {run.state.lower()}" for node, run in ordered)


def _failure(e: Exception) -> list[str]:
    frames = [f for f in traceback.extract_tb(e.__traceback__) if "site-packages" in f.filename]
    where = [f"{f.filename.split('site-packages/')[-1]}:{f.lineno} ({f.name})" for f in frames[-2:]]
    return [f"failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", f"at: {' <- '.join(where)}"]


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__)
    p.add_argument("--dask-path", required=True, help="a folder where dask and distributed are installed (--target)")
    p.add_argument("--model-dir", required=True, help="a pushed model version")
    p.add_argument("--records", required=True, help="glob of gzip TFRecords to classify")
    p.add_argument("--data-dir", default=str(REPO / "data" / "simulated"), help="pipeline records for the 2nd part")
    args = parse(p, argv)
    sys.path.insert(0, args.dask_path)
    import dask
    import distributed

    work = Path(tempfile.mkdtemp(prefix="dask-probe-"))
    procs = start_cluster(args.dask_path, work)
    try:
        found_job = catalogue(os.path.abspath(args.model_dir), args.records, work / "classified")
        found_pipeline = pipeline_run(args.data_dir, work / "pipeline")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    body = (header(args.command)
            + f"- dask {dask.__version__}, distributed {distributed.__version__}; a scheduler and two single-thread "
            "workers on 127.0.0.1, started as separate processes\n\n"
            "Catalogue job (`inference/job.py`, `--runner=DaskRunner`):\n\n" + "".join(f"- {x}\n" for x in found_job)
            + "\nThe pipeline's Beam components (LocalDagRunner, Beam args naming the DaskRunner):\n\n"
            + "".join(f"- {x}\n" for x in found_pipeline)
            + "\nWhy, from the runner's source:\n\n" + "".join(f"- {x}\n" for x in SOURCE_NOTES)
            + "\nSo Dask is not an engine for this project with Beam 2.74: its runner is not a complete Beam runner. "
            "`runners/beam.py` offers no dask preset; the catalogue job's own accounting refuses the output it "
            "produces there, so nothing wrong is published.\n")
    return publish(TITLE, body, args)


if __name__ == "__main__":
    main()
