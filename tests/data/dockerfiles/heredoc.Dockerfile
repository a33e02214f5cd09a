# syntax=docker/dockerfile:1.7
FROM ubuntu:24.04
RUN <<EOF
set -eux
apt-get update
apt-get install -y build-essential
./configure --prefix=/usr
make -j"$(nproc)"
EOF
RUN cat <<EOF > /etc/app.conf
FROM busybox AS phantom
make = true
EOF
