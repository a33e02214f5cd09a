variable "REGISTRY" {
  default = "ghcr.io/acme"
}

group "default" {
  targets = ["frontend", "backend"]
}

target "_common" {
  platforms = ["linux/amd64", "linux/arm64"]
  args = {
    BUILD_CHANNEL = "stable"
  }
}

target "frontend" {
  inherits = ["_common"]
  context = "frontend"
  tags = ["${REGISTRY}/frontend:latest"]
}

target "backend" {
  inherits = ["_common"]
  context = "backend"
  dockerfile = "Containerfile"
  target = ""
  tags = ["${REGISTRY}/backend:latest"]
}
