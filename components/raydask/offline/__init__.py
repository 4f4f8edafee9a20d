"""Offline tools: CLI, render, diff, plan, docs, scanners and validation (never imported by the runtime)."""
