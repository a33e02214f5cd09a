# syntax=docker/dockerfile:1
# The stack's C++ packages, built with colcon for the distribution the build argument names.
ARG ROS_DISTRO=humble
FROM ros:${ROS_DISTRO}-ros-base AS build
ARG ROS_DISTRO
WORKDIR /ws
COPY src/ src/
RUN apt-get update \
    && rosdep install --from-paths src --ignore-src -y \
    && rm -rf /var/lib/apt/lists/*
RUN . /opt/ros/${ROS_DISTRO}/setup.sh \
    && colcon build --merge-install --cmake-args -DCMAKE_BUILD_TYPE=Release

FROM ros:${ROS_DISTRO}-ros-core
ARG ROS_DISTRO
COPY --from=build /ws/install /opt/stack
ENV STACK_PREFIX=/opt/stack
