mapfile -t tags < <(jq -r '.tags[]' <<< "$DOCKER_METADATA_OUTPUT_JSON")
source=$(head -n1 <<< "${IMAGES,,}")
docker buildx imagetools inspect --raw "$source:$DOCKER_METADATA_OUTPUT_VERSION" |
  jq -r '.manifests[] | select(.platform.os != "unknown")
         | "\(.digest) \(.platform.architecture)\(.platform.variant // "" | sub("^v8$"; ""))"' |
  while read -r digest arch; do
    for tag in "${tags[@]}"; do
      docker buildx imagetools create --tag "$tag-$arch" "$source@$digest"
    done
  done
