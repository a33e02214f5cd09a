source=$(head -n1 <<< "${IMAGES,,}")
mapfile -t tags < <(jq -r '.tags[]' <<< "$DOCKER_METADATA_OUTPUT_JSON")
mapfile -t annotations < <(jq -r '.annotations[]' <<< "$DOCKER_METADATA_OUTPUT_JSON")
if [ "${#tags[@]}" -eq 0 ]; then
  echo "::error::No tag rule matched this event, so there is nothing to tag."
  exit 1
fi
args=()
for tag in "${tags[@]}"; do args+=(--tag "$tag"); done
for annotation in "${annotations[@]}"; do args+=(--annotation "$annotation"); done
sources=()
for digest in *; do sources+=("$source@sha256:$digest"); done
# For the builds that start from this one, and signing: the index by digest, from the bytes a dry run prints
# (those pushed), never read back through a tag another run may move meanwhile; the registry must hold it.
index=$(docker buildx imagetools create --dry-run "${args[@]}" "${sources[@]}")
digest=sha256:$(printf '%s' "$index" | sha256sum | cut -d' ' -f1)
docker buildx imagetools create "${args[@]}" "${sources[@]}"
docker buildx imagetools inspect --raw "$source@$digest" > /dev/null
echo "digest=$digest" >> "$GITHUB_OUTPUT"
echo "ref=$source@$digest" >> "$GITHUB_OUTPUT"
