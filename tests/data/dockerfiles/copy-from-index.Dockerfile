FROM rust:1.80
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM alpine:3 AS unrelated
RUN apk add --no-cache gcc

FROM debian:bookworm-slim
COPY --from=0 /src/target/release/tool /usr/local/bin/tool
COPY --from=alpine:3 /etc/alpine-release /etc/
ENTRYPOINT ["tool"]
