# syntax=docker/dockerfile:1
# Two images from one file; the manifests in k8s/ run their s2s-* commands.
#   docker build --target crawl -t street2shop/crawl:0.1.0 .   # crawl + dataset, no TensorFlow
#   docker build --target train -t street2shop/train:0.1.0 .   # TensorFlow on NVIDIA GPUs, + s2s-dataset
# Base images are pinned to exact versions; to pin by digest as well, append
# @sha256:... as printed by `docker buildx imagetools inspect IMAGE:TAG`. Every Python
# package is pinned by constraints.txt, the set the test suite passes with (`make lock`).
# No credentials enter an image: pods get them from a Secret or an IAM role.

# ---- build: install the crawl/dataset distribution into a virtual environment ----
FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY crawler/ crawler/
COPY dataset/ dataset/
COPY training/ training/
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -c constraints.txt ".[crawl,dataset]"

# ---- crawl: s2s-crawl and s2s-dataset (slim, no TensorFlow) ----
FROM python:3.11.11-slim-bookworm AS crawl
RUN groupadd --gid 10001 s2s \
    && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin s2s
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /tmp
USER 10001:10001
CMD ["s2s-crawl", "--help"]

# ---- train: s2s-train with TensorFlow for NVIDIA GPUs, and s2s-dataset (its segment stage
# runs the garment localiser on Keras) ----
# The same Python as the suite; TensorFlow, Keras and the CUDA/cuDNN wheels
# (tensorflow[and-cuda]) at the versions of constraints.txt. The node supplies the driver.
FROM python:3.11.11-slim-bookworm AS train
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY crawler/ crawler/
COPY dataset/ dataset/
COPY training/ training/
# hadolint ignore=DL3013
RUN python -m pip install --no-cache-dir -c constraints.txt ".[dataset,train,gpu]" \
    && rm -rf /src \
    && groupadd --gid 10001 s2s \
    && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin s2s
# Pods mount writable scratch at /tmp and /scratch; the root filesystem stays read-only.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    KERAS_HOME=/tmp/keras \
    MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /tmp
USER 10001:10001
CMD ["s2s-train", "--help"]
