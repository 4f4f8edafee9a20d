"""Kubernetes vocabulary: names, labels, ports, quantities, images, pod security and plain-dict helpers."""
