echo "images=$(grep . <<< "${IMAGES,,}" | grep -vF "${HELD:-//}" | paste -sd, -)" >> "$GITHUB_OUTPUT"
