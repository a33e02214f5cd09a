ARG BUILDER_PLATFORM=$BUILDPLATFORM
FROM alpine:3.20 AS base
RUN apk add --no-cache libstdc++

FROM --platform=${BUILDER_PLATFORM} alpine:3.20 AS tools
RUN apk add --no-cache protobuf

FROM tools AS generated
RUN protoc --go_out=/gen api.proto

FROM base AS build
RUN apk add --no-cache build-base
RUN --mount=type=bind,from=generated,source=/gen,target=/gen \
    make -C /src all

FROM base AS final
COPY --from=build /src/bin/app /usr/local/bin/app
