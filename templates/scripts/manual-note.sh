set -f; for pattern in $PUBLISHING_REFS; do [[ $GITHUB_REF =~ ${pattern#"!"} ]] && verdict=${pattern::1}; done  # the last match decides, with case (env.PUSH ignores it)
[[ $PUSH == true ]] || { echo "::notice title=Build only::manual runs publish only from refs matching $PUBLISHING_REFS; $GITHUB_REF does not, so this run pushes nothing"; exit; }
[[ ${verdict-} == ^ ]] || { echo "::error title=Not a publishing ref::$GITHUB_REF is none of $PUBLISHING_REFS with its case (GitHub's expressions ignore case, so env.PUSH took it for one): this run publishes nothing"; exit 1; }
