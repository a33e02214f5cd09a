import platform
print(f"inference server on {platform.machine()}")
