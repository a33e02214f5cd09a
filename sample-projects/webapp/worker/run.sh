#!/bin/sh
set -eu
while true; do curl -fsS "${QUEUE_URL:?}" | jq .; sleep 30; done
