"""raydask as a Pulumi component provider, for programs in every Pulumi language (YAML, TypeScript, Go, C#, Java).

``python -m raydask.provider`` (or the ``pulumi-resource-raydask`` launcher beside ``PulumiPlugin.yaml`` here) serves
the package schema generated from the spec models (:mod:`raydask.provider.schema`) and constructs the Python API's own
components (:mod:`raydask.provider.host`). An optional layer: the runtime never imports it.
"""
