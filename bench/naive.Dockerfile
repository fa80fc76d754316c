# The naive baseline `invoke bench` compares the prod image with: one stage,
# `pip install` of the service from the source tree, dependencies resolved
# from PyPI at build time (no lock, no builder stage, no non-root user).
# Built by bench/image_sizes.py only; not a way to ship the service.
FROM python:3.13-slim-trixie
WORKDIR /app
COPY service /app/service
RUN pip install --no-cache-dir /app/service
EXPOSE 8000
CMD ["notes-service", "serve"]
