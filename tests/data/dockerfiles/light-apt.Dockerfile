FROM python:3.12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        make gcc \
    && rm -rf /var/lib/apt/lists/*
COPY app/ /app/
RUN chmod -R a+rX /app && useradd --system app
USER app
CMD ["python", "/app/main.py"]
