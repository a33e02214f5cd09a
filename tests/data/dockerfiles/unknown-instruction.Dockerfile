ARG VERSION=3.20
FROM alpine:${VERSION}
  RUNN apk add --no-cache curl
