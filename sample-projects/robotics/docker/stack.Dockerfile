# syntax=docker/dockerfile:1
# The stack on top of the base image, which the workflow passes by digest in BASE_IMAGE.
ARG BASE_IMAGE=ghcr.io/acme-robotics/stack:main-base
FROM ${BASE_IMAGE} AS devel
WORKDIR /ws
COPY src/ src/
RUN . /opt/ros/jazzy/setup.sh && . /opt/deps/install/setup.sh \
 && colcon build --merge-install --install-base /opt/stack --cmake-args -DCMAKE_BUILD_TYPE=Release

FROM ros:jazzy-ros-core AS runtime
COPY --from=devel /opt/deps/install /opt/deps/install
COPY --from=devel /opt/stack /opt/stack
CMD ["bash", "-c", ". /opt/stack/setup.sh && ros2 launch planner planner.launch.py"]
