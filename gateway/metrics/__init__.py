"""Prometheus metrics: what is counted and timed where it happens (instruments), the queues measured at scrape time
(queues), how a scrape is answered, behind a token or on a port of its own (exposition), and the directory the
processes of `portal serve --workers N` share their counts through (multiprocess). README "Metrics" lists them."""
