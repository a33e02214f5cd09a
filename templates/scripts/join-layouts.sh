for key in $JOIN; do
  mkdir -p "joined-$key/blobs/sha256"
  echo '{"imageLayoutVersion": "1.0.0"}' > "joined-$key/oci-layout"
  # Each leg's image: the entries of its index (attestations beside them), or its manifest with the platform its
  # configuration names.
  for layout in "$key"--*/; do
    cp "$layout"blobs/sha256/* "joined-$key/blobs/sha256/"  # content-addressed: a blob two legs share is one file
    top=$(jq -c '.manifests[0]' "$layout/index.json")
    blob=$layout/blobs/sha256/$(jq -r '.digest | ltrimstr("sha256:")' <<< "$top")
    if jq -e '.manifests' "$blob" > /dev/null; then jq -c '.manifests[]' "$blob"; else
      config=$layout/blobs/sha256/$(jq -r '.config.digest | ltrimstr("sha256:")' "$blob")
      jq -c --argjson p "$(jq -c '{os, architecture} + if .variant then {variant} else {} end' "$config")" \
        '{mediaType, digest, size, platform: $p}' <<< "$top"
    fi
  done > entries.tmp  # not piped: under bash -e a failed copy or read stops the step
  jq -sc '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: .}' entries.tmp > index.tmp
  digest=$(sha256sum index.tmp | cut -d' ' -f1)
  jq -n --arg d "sha256:$digest" --argjson s "$(wc -c < index.tmp)" \
    '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s}]}' \
    > "joined-$key/index.json"
  mv index.tmp "joined-$key/blobs/sha256/$digest"
done
