"""Pulumi entry point: ``pulumi up -s dev`` runs the raydask program with stacks/Pulumi.dev.yaml."""

from raydask.program import main

main()
