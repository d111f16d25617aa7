"""The warm submit process: a workspace's process that has imported what a submit loads, and
forks a child to run each plain `canalis submit` handed to it (docs/warm.md).

- wire.py: where its socket is and the messages on it;
- client.py: what the `canalis` command does to hand its submit over (or not);
- server.py: the process itself (`canalis warm start` starts it);
- child.py: what a forked child does with the submit it is given.
"""
