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
docker buildx imagetools create "${args[@]}" "${sources[@]}"
# For the builds that start from this one, and signing: the index just created, by digest.
digest=$(docker buildx imagetools inspect "${tags[0]}" --format '{{json .Manifest}}' | jq -r .digest)
echo "digest=$digest" >> "$GITHUB_OUTPUT"
echo "ref=$source@$digest" >> "$GITHUB_OUTPUT"
