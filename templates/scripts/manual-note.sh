echo "::notice title=Build only::manual runs publish only from $PUBLISHING_REFS; $GITHUB_REF is not one of them, so this run pushes nothing"
