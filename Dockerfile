# The gateway image: the `[gateway]` extra only (Flask, gunicorn, gevent, grpcio, protobuf, NumPy,
# Pillow), no TensorFlow; the TF Serving API comes from protocol/generated. `docker compose up`
# runs it next to tensorflow/serving.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY build_support build_support
COPY contract contract
COPY protocol protocol
COPY client client
COPY serving serving
RUN pip install --no-cache-dir '.[gateway]'
ENV GATEWAY_PORT=8000 TFS_TARGET=tfserving:8500 TFS_REST_URL=http://tfserving:8501
EXPOSE 8000
USER nobody
CMD ["python", "-m", "serving.gateway"]
