"""Pulumi entry point: ``pulumi up -s dev`` runs the raydask program with stacks/Pulumi.dev.yaml."""

from components.program import main

main()
