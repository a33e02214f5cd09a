source=$(head -n1 <<< "${IMAGES,,}")
digest=$(docker buildx imagetools inspect "$source:$DOCKER_METADATA_OUTPUT_VERSION" --format '{{json .Manifest}}' | jq -r .digest)
echo "digest=$digest" >> "$GITHUB_OUTPUT"
echo "ref=$source@$digest" >> "$GITHUB_OUTPUT"
