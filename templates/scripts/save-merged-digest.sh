digest=$(docker buildx imagetools inspect "${SOURCE,,}:$DOCKER_METADATA_OUTPUT_VERSION" --format '{{json .Manifest}}' | jq -r .digest)
mkdir -p "$RUNNER_TEMP/digest"
echo "${SOURCE,,}@$digest" > "$RUNNER_TEMP/digest/$KEY"
