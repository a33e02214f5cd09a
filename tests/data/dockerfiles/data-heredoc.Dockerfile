# syntax=docker/dockerfile:1
FROM alpine:3.20
RUN cat <<'EOF' > /etc/motd
make
cargo build
EOF
RUN <<EOF sh -e
apk add --no-cache curl
EOF
