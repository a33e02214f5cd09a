#!/bin/sh
set -eu
apt-get update
apt-get install -y --no-install-recommends "$1"
rm -rf /var/lib/apt/lists/*
