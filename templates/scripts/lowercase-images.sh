i=0
while IFS= read -r image; do
  echo "image$i=${image,,}" >> "$GITHUB_OUTPUT"
  i=$((i + 1))
done <<< "${IMAGES%$'\n'}"
