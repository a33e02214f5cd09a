echo "images=$(grep . <<< "${IMAGES,,}" | paste -sd, -)" >> "$GITHUB_OUTPUT"
