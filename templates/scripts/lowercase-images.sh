i=0
for image in $IMAGES; do
  echo "image$i=${image,,}" >> "$GITHUB_OUTPUT"
  i=$((i + 1))
done
