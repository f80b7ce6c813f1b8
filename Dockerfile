# The pipeline image: every component on Kubeflow V2 / Vertex AI Pipelines, and the Beam SDK workers on
# Dataflow (--sdk_container_image), Flink or Spark (DOCKER environment). No ENTRYPOINT: those orchestrators set
# each container's command themselves (e.g. tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor).
#
#   docker build -t europe-west4-docker.pkg.dev/PROJECT/sdss/sdss-tfx:$(git rev-parse --short HEAD) .
#   docker push europe-west4-docker.pkg.dev/PROJECT/sdss/sdss-tfx:$(git rev-parse --short HEAD)
#
# The package is installed as a wheel: the image holds no source tree, and the code (the curated schemas, package
# data of `schema`, included) lives in site-packages, where runners/kubeflow_v2.py IMAGE_CODE_ROOT points.
# Beam's SDK worker boot program comes from Beam's own image of the same version (Dataflow and the DOCKER
# environment start /opt/apache/beam/boot).
FROM apache/beam_python3.10_sdk:2.74.0 AS beam

FROM python:3.10-slim AS wheel
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.10-slim
COPY --from=beam /opt/apache/beam /opt/apache/beam
# runtime_env.WORKER_ENV: Transform and TFMA need Keras 2 in every process, workers included.
ENV TF_USE_LEGACY_KERAS=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PYTHONUNBUFFERED=1
# A working directory for what a local run writes (data/, outputs/); on a cluster every path is a flag (gs://).
WORKDIR /work
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir -r /tmp/requirements.lock
COPY --from=wheel /wheels /wheels
RUN pip install --no-cache-dir --no-deps /wheels/*.whl && rm -rf /wheels /tmp/requirements.lock
