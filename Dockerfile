# The pipeline image: every component on Kubeflow V2 / Vertex AI Pipelines, and the Beam SDK workers on
# Dataflow (--sdk_container_image), Flink or Spark (DOCKER environment). No ENTRYPOINT: those orchestrators set
# each container's command themselves (e.g. tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor).
#
#   docker build -t europe-west4-docker.pkg.dev/PROJECT/sdss/sdss-tfx:$(git rev-parse --short HEAD) .
#   docker push europe-west4-docker.pkg.dev/PROJECT/sdss/sdss-tfx:$(git rev-parse --short HEAD)
#
# Beam's SDK worker boot program comes from Beam's own image of the same version (Dataflow and the DOCKER
# environment start /opt/apache/beam/boot).
FROM apache/beam_python3.10_sdk:2.74.0 AS beam

FROM python:3.10-slim
COPY --from=beam /opt/apache/beam /opt/apache/beam
# runtime_env.WORKER_ENV: Transform and TFMA need Keras 2 in every process, workers included.
ENV TF_USE_LEGACY_KERAS=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PYTHONUNBUFFERED=1
WORKDIR /pipeline
COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
RUN pip install --no-cache-dir --no-deps .
