token=$(az acr login --name "${REGISTRY%%.*}" --expose-token --output tsv --query accessToken)
echo "::add-mask::$token"
echo "token=$token" >> "$GITHUB_OUTPUT"
