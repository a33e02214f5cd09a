echo "images=$(grep . <<< "${IMAGES,,}" | paste -sd, -)" >> "$GITHUB_OUTPUT"
[ -z "${FALLBACK:-}" ] || echo "fallback=$(head -n1 <<< "${IMAGES,,}"):$FALLBACK" >> "$GITHUB_OUTPUT"
