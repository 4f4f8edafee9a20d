"""The Pulumi layer: component resources and how plain Kubernetes dicts become Pulumi resources."""
