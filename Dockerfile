# The gateway image (no model runtime is loaded: the TensorFlow wheel is installed only for the
# TF Serving API's protobuf files). `docker compose up` runs it next to tensorflow/serving.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY training training
COPY serving serving
COPY client client
COPY loadtest loadtest
RUN pip install --no-cache-dir .
ENV GATEWAY_PORT=8000 TFS_HOST=tfserving
EXPOSE 8000
USER nobody
CMD ["python", "-m", "serving.gateway"]
