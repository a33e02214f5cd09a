FROM alpine:3.20
RUN apk add --no-cache ca-certificates curl tzdata
RUN adduser -D -u 10001 app
COPY --chmod=0755 entrypoint.sh /usr/local/bin/entrypoint.sh
USER app
ENTRYPOINT ["entrypoint.sh"]
