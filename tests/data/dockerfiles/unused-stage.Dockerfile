FROM debian:bookworm AS docs
RUN apt-get update && apt-get install -y doxygen make
COPY . /src
RUN make -C /src docs

FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETARCH
COPY . /src
RUN cd /src && GOARCH=$TARGETARCH go build -o /out/app .

FROM scratch
COPY --from=build /out/app /app
ENTRYPOINT ["/app"]
