"""A Spark standalone cluster on this machine, from the pyspark package's own `bin/spark-class`: a master and N
workers, all bound to 127.0.0.1, stopped by process id, and by a watchdog (spark_watchdog.py) if the process that
started them dies without stopping them. For trying the Spark driver against a real master (tests and
benchmarks use it too); a production cluster is started by its own tooling.

    python -m inference.drivers.spark_cluster --workers 2    # prints the master URL and the pids; Ctrl-C stops it

Authenticated and encrypted: the cluster generates a secret, writes it with the other settings into a properties
file only its owner can read (AUTH_SETTINGS), and starts master and workers with it; a driver must present it
(`sdss-classify-catalog --spark-secret-file`), or the master refuses it.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
# What every daemon and every driver of the cluster runs with: shared-secret authentication of every connection, and
# AES encryption of the RPC traffic (spark.network.crypto). The secret itself goes into the file, never onto a
# command line, where `ps` would show it.
AUTH_SETTINGS = {"spark.authenticate": "true", "spark.network.crypto.enabled": "true"}
SECRET_KEY = "spark.authenticate.secret"


def auth_conf(secret: str) -> dict[str, str]:
    """The Spark settings a driver of an authenticated cluster needs (inference/drivers/spark.session)."""
    return {**AUTH_SETTINGS, SECRET_KEY: secret}


def read_secret(path: str | os.PathLike) -> str:
    """The secret from a cluster's secret file (its one line), or from its properties file."""
    text = Path(path).read_text()
    for line in text.splitlines():
        if line.startswith(SECRET_KEY):
            return line.split(None, 1)[1].strip()
    return text.strip()


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def require_java() -> str:
    """The java that Spark will start; RuntimeError with what to install where there is none."""
    java = Path(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else None
    found = str(java) if java and java.is_file() else shutil.which("java")
    if not found:
        raise RuntimeError("the Spark engine needs Java 17 (Spark 3.5 runs on Java 8, 11 or 17): no `java` on PATH "
                           "and no JAVA_HOME; install a JRE (e.g. `apt-get install openjdk-17-jre-headless`)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) == 0


@dataclass
class Cluster:
    master_url: str
    ui_url: str
    logs: Path
    secret_file: Path  # the properties file every daemon read; `--spark-secret-file` for a driver
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)  # "master", "worker-1", ...
    watchdog: subprocess.Popen | None = None

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.processes.items()}

    def kill(self, name: str) -> None:
        """Kills one daemon and what it started (a worker's executors), as a crash would: SIGKILL, no clean-up."""
        proc = self.processes[name]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        """Stops every daemon by its process id (workers first), and what each started; then their watchdog."""
        for name in sorted(self.processes, key=lambda n: n == "master"):
            self.kill(name)
        if self.watchdog is not None and self.watchdog.poll() is None:
            self.watchdog.kill()
            self.watchdog.wait()

    def watch_owner(self) -> None:
        """Ties the daemons to this process: a watchdog stops them if it dies (even by SIGKILL) before stop()."""
        import psutil

        me = os.getpid()
        self.watchdog = subprocess.Popen(
            [sys.executable, "-m", "inference.drivers.spark_watchdog", str(me), repr(psutil.Process(me).create_time()),
             *(str(p.pid) for p in self.processes.values())],
            cwd=Path(__file__).resolve().parents[2], start_new_session=True, stdout=subprocess.DEVNULL,
            stderr=open(self.logs / "watchdog.log", "w"))


def _spawn(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([str(spark_home() / "bin" / "spark-class"), *args], env=env, stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)  # its own group: killpg takes all


def start(workers: int = 2, cores: int = 1, memory: str = "2g", logs: Path | None = None,
          timeout_s: float = 120.0) -> Cluster:
    """A master and `workers` workers (each `cores` cores and `memory`), registered and ready."""
    require_java()
    logs = Path(logs or Path.cwd() / "outputs" / "spark_cluster")
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SPARK_HOME": str(spark_home()), "SPARK_LOCAL_IP": HOST, "SPARK_LOG_DIR": str(logs),
           "SPARK_WORKER_DIR": str(logs / "work")}
    port, ui = _free_port(), _free_port()
    settings = logs / "spark-auth.conf"
    settings.touch(mode=0o600)
    settings.chmod(0o600)
    settings.write_text("".join(f"{k} {v}\n" for k, v in auth_conf(secrets.token_hex(32)).items()))
    cluster = Cluster(f"spark://{HOST}:{port}", f"http://{HOST}:{ui}", logs, settings)
    secured = ["--properties-file", str(settings)]
    try:
        cluster.processes["master"] = _spawn(["org.apache.spark.deploy.master.Master", "--host", HOST, "--port",
                                              str(port), "--webui-port", str(ui), *secured], logs / "master.log",
                                             env)
        _wait(lambda: _listening(port), timeout_s, f"the master on {HOST}:{port}", logs / "master.log")
        for k in range(1, workers + 1):
            cluster.processes[f"worker-{k}"] = _spawn(
                ["org.apache.spark.deploy.worker.Worker", "--host", HOST, "--cores", str(cores), "--memory", memory,
                 "--webui-port", str(_free_port()), *secured, cluster.master_url], logs / f"worker-{k}.log", env)
        cluster.watch_owner()
        _wait(lambda: _registered(logs / "master.log") >= workers, timeout_s, f"{workers} workers to register",
              logs / "master.log")
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _registered(master_log: Path) -> int:
    return len(re.findall(r"Registering worker", master_log.read_text())) if master_log.exists() else 0


def _wait(ready, timeout_s: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise TimeoutError(f"waited {timeout_s:.0f} s for {what}; {log}:\n{tail}")
        time.sleep(0.3)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m inference.drivers.spark_cluster", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--cores", type=int, default=1, help="cores per worker")
    p.add_argument("--memory", default="2g", help="memory per worker")
    p.add_argument("--logs", default=None, help="daemon logs (default outputs/spark_cluster)")
    args = p.parse_args(argv)
    try:
        cluster = start(args.workers, args.cores, args.memory, Path(args.logs) if args.logs else None)
    except (RuntimeError, TimeoutError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"master: {cluster.master_url}  (UI {cluster.ui_url})\npids: {cluster.pids()}\nlogs: {cluster.logs}\n"
          f"sdss-classify-catalog ... --engine spark --master {cluster.master_url} --spark-secret-file "
          f"{cluster.secret_file}\nCtrl-C stops the cluster", flush=True)
    try:
        while all(p.poll() is None for p in cluster.processes.values()):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
