python3 -m venv "$RUNNER_TEMP/gen-workflows"
"$RUNNER_TEMP/gen-workflows/bin/pip" install --require-hashes --only-binary :all: -r .github/gen-workflows-requirements.txt
echo "$RUNNER_TEMP/gen-workflows/bin" >> "$GITHUB_PATH"
