import platform

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return f"hello from {platform.machine()}\n"
