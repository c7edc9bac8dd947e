"""What serves developers, not production: `mailops sim`, `mailops demo`, the Agents
Playground launcher and `mailops bench …`.

The only package besides the tests that may import `sim`. Neither ships in the wheel or the
image; a repository checkout's dev install (`make`) puts them on the path.
"""
