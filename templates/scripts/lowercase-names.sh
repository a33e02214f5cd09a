set -f; for image in ${IMAGES,,}; do for prefix in $HELD; do [[ $image == "$prefix"* ]] && continue 2; done; images+=,$image; done
echo "images=${images#,}" >> "$GITHUB_OUTPUT"
