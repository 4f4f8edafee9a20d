"""``python -m raydask.provider <engine address>``: serve the raydask component provider to the Pulumi engine."""

from raydask.provider.host import main

main()
