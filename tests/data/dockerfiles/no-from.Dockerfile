# a Dockerfile that forgot its base image
ARG VERSION=1
RUN echo "no stage"
