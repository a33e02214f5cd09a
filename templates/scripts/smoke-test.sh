mapfile -t args < <(jq -r '.[]' <<< "$COMMAND")
set +e
output=$(timeout "$TIMEOUT" docker run --rm --platform "$PLATFORM" "smoke-test:$PAIR" "${args[@]}" 2>&1)
code=$?
set -e
printf '%s\n' "$output"
problem=""
if [ "$code" != "$EXPECT_EXIT" ]; then
  problem="exit code $code, expected $EXPECT_EXIT"
elif [ -n "$EXPECT_OUTPUT" ] && ! grep -Eq -- "$EXPECT_OUTPUT" <<< "$output"; then
  problem="the output does not match $EXPECT_OUTPUT"
fi
if [ -n "$problem" ]; then
  echo "::error title=Smoke test failed on $PLATFORM::$problem"
  echo "Smoke test failed on $PLATFORM: $problem" >> "$GITHUB_STEP_SUMMARY"
  exit 1
fi
echo "Smoke test passed on $PLATFORM" >> "$GITHUB_STEP_SUMMARY"
