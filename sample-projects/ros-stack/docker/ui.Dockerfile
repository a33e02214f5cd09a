# syntax=docker/dockerfile:1
# The operator's web UI: assets built once on the build platform, served by nginx on every platform.
FROM --platform=$BUILDPLATFORM node:22-alpine AS assets
ARG ROS_DISTRO=humble
WORKDIR /ui
COPY ui/package.json ui/index.html ./
RUN npm install --no-audit --no-fund && ROS_DISTRO=${ROS_DISTRO} npm run build

FROM nginxinc/nginx-unprivileged:1.27-alpine
COPY --from=assets /ui/dist /usr/share/nginx/html
