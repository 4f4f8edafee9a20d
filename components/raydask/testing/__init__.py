"""Drivers for tests and offline tools: the Pulumi SDK's mock engine (never imported by the runtime)."""
