FROM alpine:3.20
RUN apk add --no-cache \
# the compilers come from build-base
      build-base \

      curl
RUN echo one \
 && echo two \
 && make \
      -j4
