"""Pure builder functions: typed specs in, plain Kubernetes dicts out. Nothing here imports Pulumi."""
