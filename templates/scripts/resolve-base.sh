if [ "$PUSH" = true ]; then ref=$(cat "$RUNNER_TEMP/digest/$KEY"); else ref="${FALLBACK,,}"; fi
echo "ref=$ref" >> "$GITHUB_OUTPUT"
