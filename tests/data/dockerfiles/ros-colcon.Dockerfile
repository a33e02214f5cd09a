# A ROS 2 workspace: sources fetched with vcstool, then a full C++ build with colcon.
FROM ros:humble AS build
RUN apt-get update && apt-get install -y python3-vcstool
WORKDIR /ws
COPY ros.repos .
RUN pip install --no-cache-dir vcstool-extras
RUN mkdir src && vcs import src < ros.repos && rosdep install -y --from-paths src \
    && . /opt/ros/humble/setup.sh && colcon build --merge-install

FROM ros:humble
COPY --from=build /ws/install /opt/ws
