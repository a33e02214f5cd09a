digest="$DIGEST"
mkdir -p "$RUNNER_TEMP/digest"
echo "${SOURCE,,}@$digest" > "$RUNNER_TEMP/digest/$KEY"
