# syntax=docker/dockerfile:1
# The image a robot runs: the compiled core (CORE_IMAGE, handed over by the workflow) with the web UI
# (the build context `ui`) and the launch files.
ARG CORE_IMAGE
FROM ${CORE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends ros-${ROS_DISTRO}-rosbridge-server \
    && rm -rf /var/lib/apt/lists/*
COPY --from=ui /usr/share/nginx/html /opt/stack/share/ui
COPY src/drive_controller/launch /opt/stack/share/drive_controller/launch
CMD ["ros2", "launch", "drive_controller", "robot.launch.py"]
