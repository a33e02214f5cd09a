echo "images=${IMAGES,,}" >> "$GITHUB_OUTPUT"
