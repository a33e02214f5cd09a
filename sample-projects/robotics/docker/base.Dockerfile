# syntax=docker/dockerfile:1
# Toolchain and third-party dependencies, built from source: hours under emulation, minutes natively.
FROM ros:jazzy-ros-base AS base
ARG CUDA=false
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake ninja-build git python3-colcon-common-extensions \
 && rm -rf /var/lib/apt/lists/*
COPY docker/deps.repos /opt/deps/deps.repos
RUN mkdir -p /opt/deps/src && cd /opt/deps \
 && vcs import src < deps.repos \
 && colcon build --merge-install --install-base /opt/deps/install --cmake-args -DCMAKE_BUILD_TYPE=Release \
 && rm -rf build log src
RUN if [ "$CUDA" = true ]; then apt-get update && apt-get install -y --no-install-recommends nvidia-cuda-toolkit \
    && rm -rf /var/lib/apt/lists/*; fi
