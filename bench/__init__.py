"""`make bench`: Townhall's throughput and latency as ratios to what this machine can do at all.

Run `python -m bench --help`. Every phase works in its own RabbitMQ vhost (and, for the texts,
its own databases and ports) and removes them when it ends.
"""
