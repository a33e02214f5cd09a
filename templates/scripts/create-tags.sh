source=$(head -n1 <<< "${IMAGES,,}") digests=(*)
jq -e '.tags != []' <<< "$DOCKER_METADATA_OUTPUT_JSON" > /dev/null ||
  { echo "::error::No tag rule matched this event, so there is nothing to tag."; exit 1; }
mapfile -t args < <(jq -r '(.tags[] | "--tag", .), (.annotations[] | "--annotation", .)' <<< "$DOCKER_METADATA_OUTPUT_JSON")
sources=("${digests[@]/#/$source@sha256:}")
# For the builds that start from this one, and signing: the index by digest, from the bytes a dry run prints
# (those pushed), never read back through a tag another run may move meanwhile; the registry must hold it.
index=$(docker buildx imagetools create --dry-run "${args[@]}" "${sources[@]}")
digest=sha256:$(printf '%s' "$index" | sha256sum | cut -d' ' -f1)
docker buildx imagetools create "${args[@]}" "${sources[@]}"
docker buildx imagetools inspect --raw "$source@$digest" > /dev/null
printf 'digest=%s\nref=%s\n' "$digest" "$source@$digest" >> "$GITHUB_OUTPUT"
