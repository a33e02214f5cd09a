echo "digest=$(cut -d@ -f2 "$RUNNER_TEMP/digest/$KEY")" >> "$GITHUB_OUTPUT"
