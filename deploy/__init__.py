"""Deployment files (Procfile, RabbitMQ definitions, Kubernetes manifests) and their checker."""
