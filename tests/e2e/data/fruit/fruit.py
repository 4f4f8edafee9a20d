"""A Serve application for the e2e stack's RayService (``importPath: fruit.deployment_graph``), served to the real node
as a ``workingDir`` archive by the tests' own host: the upstream sample's archive lives on GitHub, out of reach.

``POST /fruit`` with ``["MANGO", 2]`` answers the price; ``userConfig: {prices: {...}}`` changes the prices, so a
config change shows when it has rolled out. Every answer names the node and the process user it ran as.
"""

import getpass
import os

import ray
from ray import serve
from starlette.requests import Request


@serve.deployment
class FruitMarket:
    def __init__(self) -> None:
        self.prices = {"MANGO": 3, "ORANGE": 2, "PEAR": 4}

    def reconfigure(self, config: dict) -> None:
        self.prices = {**self.prices, **config.get("prices", {})}

    async def __call__(self, request: Request) -> dict:
        fruit, amount = await request.json()
        return {"price": self.prices[fruit] * amount, "node": ray.get_runtime_context().get_node_id(),
                "user": getpass.getuser(), "cwd": os.getcwd()}


deployment_graph = FruitMarket.bind()
