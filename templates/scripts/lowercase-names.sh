echo "images=$(grep . <<< "${IMAGES,,}" | grep -vF "${HELD:-//}" | paste -sd, -)" >> "$GITHUB_OUTPUT"
# Only on runs that push nothing: the engine's `ref` output is then this tag instead of the merge's digest.
[ -z "${FALLBACK:-}" ] || [ "$PUSH" = true ] || echo "fallback=$(head -n1 <<< "${IMAGES,,}"):$FALLBACK" >> "$GITHUB_OUTPUT"
