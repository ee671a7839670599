# The central image: flower-superlink and the ServerApp's flower-superexec,
# with fedcluster and CPU-only torch installed at build time.
#
#   docker build -f docker/superlink.Dockerfile -t fedcluster/superlink:0.1.0 .
#
# Nothing is installed when a container starts: the SuperLink runs with
# --disable-runtime-dependency-installation and the SuperExec without
# --allow-runtime-dependency-installation, so a run can only use what is here.

ARG PYTHON=python:3.11-slim-bookworm
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG TORCH=torch==2.13.0

FROM ${PYTHON} AS build
ARG TORCH_INDEX
ARG TORCH
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/fedcluster
ENV PATH=/opt/fedcluster/bin:$PATH
# CPU wheels first, so the package's torch requirement is already met and
# no CUDA libraries are pulled in.
RUN pip install --index-url "${TORCH_INDEX}" "${TORCH}"
WORKDIR /build
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && pip uninstall --yes pip setuptools wheel

FROM ${PYTHON}
# The same user id the manifests run as (runAsUser 10001).
RUN groupadd --gid 10001 fedcluster \
 && useradd --uid 10001 --gid 10001 --home-dir /home/fedcluster --create-home \
      --shell /usr/sbin/nologin fedcluster \
 && mkdir -p /var/lib/fedcluster \
 && chown 10001:10001 /var/lib/fedcluster \
 && python -m pip uninstall --yes pip setuptools wheel || true
COPY --from=build /opt/fedcluster /opt/fedcluster
ENV PATH=/opt/fedcluster/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FLWR_TELEMETRY_ENABLED=0 \
    FLWR_DISABLE_UPDATE_CHECK=1 \
    FLWR_HOME=/home/fedcluster/.flwr \
    HF_DATASETS_OFFLINE=1
USER 10001:10001
WORKDIR /home/fedcluster
# `tar` (from the base image) lets `fedcluster run` copy run folders out.
EXPOSE 9098 9099
ENTRYPOINT []
CMD ["flower-superlink", "--help"]
