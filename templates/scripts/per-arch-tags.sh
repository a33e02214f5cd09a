mapfile -t tags < <(jq -r '.tags[]' <<< "$DOCKER_METADATA_OUTPUT_JSON")
index=$(docker buildx imagetools inspect --raw "$INDEX")  # as create-tags pushed it: another run may have moved the tags
jq -r '.manifests[] | select(.platform.os != "unknown")
       | "\(.digest) \(.platform.architecture)\(.platform.variant // "" | sub("^v8$"; ""))"' <<< "$index" |
  while read -r digest arch; do
    for tag in "${tags[@]}"; do docker buildx imagetools create --tag "$tag-$arch" "${INDEX%@*}@$digest"; done
  done
