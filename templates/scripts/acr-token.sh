# The registry's name is its host's first label; the token is a refresh token for docker login's password.
token=$(az acr login --name "${REGISTRY%%.*}" --expose-token --output tsv --query accessToken)
echo "::add-mask::$token"
echo "token=$token" >> "$GITHUB_OUTPUT"
