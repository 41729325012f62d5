"""Adapters of the ClusterGateway port: the fleet description and the Kubernetes/kcp HTTP client."""
