"""slipway: build, test, check and deploy a containerized Python service."""
