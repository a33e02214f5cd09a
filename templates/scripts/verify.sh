# Before any tag: the image behind every pushed entry is built for the platform the entry claims, and the
# digests in this directory hold each platform of the call's legs exactly once. Writes the job summary's table.
declare -A runner seen; image=$(head -n1 <<< "${IMAGES,,}") failed=0
while IFS=$'\t' read -r platform label; do runner[$platform]=$label expected+=("$platform"); done < <(jq -r '.[]
  | (.runner | if type == "array" then join("+") else . end) as $r | .platform | split(",")[] | "\(.)\t\($r)"' <<< "$LEGS")
problem() { echo "::error title=$1::$2"; failed=1; }
name='def name: [.os, .architecture, .variant] - [null, ""] | join("/") | sub("/arm64/v8$"; "/arm64");'
# An index gives "digest platform" for each image it holds (attestations aside), a plain manifest its digest.
mapfile -t entries < <(for hex in *; do { docker buildx imagetools inspect --raw "$image@sha256:$hex" || echo '{}'; } |
  jq -r --arg d "sha256:$hex" "$name"' if has("manifests") | not then $d else .manifests[]
  | select(.annotations["vnd.docker.reference.type"] != "attestation-manifest" and .platform.os != "unknown")
  | "\(.digest) \(.platform | name)" end'; done)
printf '### %s\n\n| platform | runner | digest | built for |\n|-|-|-|-|\n' "$image" | tee -a "$GITHUB_STEP_SUMMARY"
for entry in "${entries[@]}"; do
  read -r digest claimed <<< "$entry"
  built=$(docker buildx imagetools inspect "$image@$digest" --format '{{json .Image}}' | jq -r "$name name") || :
  built=${built:-unknown (inspect failed)} claimed=${claimed:-$built}
  [ "$claimed" = "$built" ] || problem "Wrong platform" "the $claimed entry $image@$digest is built for $built"
  [ -z "${seen[$claimed]:-}" ] || problem "Duplicate platform" "$claimed is both ${seen[$claimed]} and $digest"
  [ -n "${runner[$claimed]:-}" ] || problem "Unexpected platform" "$image@$digest is built for $claimed, not asked for"
  seen[$claimed]=$digest
  echo "| $claimed | ${runner[$claimed]:--} | \`$digest\` | $built |" | tee -a "$GITHUB_STEP_SUMMARY"
done
for p in "${expected[@]}"; do [ -n "${seen[$p]:-}" ] || problem "Missing platform" "no digest for $image holds $p"; done
exit "$failed"
