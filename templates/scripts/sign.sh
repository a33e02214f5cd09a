for image in $IMAGES; do
  cosign sign --yes "${image,,}@$DIGEST"
done
