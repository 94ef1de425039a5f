"""Settings for bench/tmf_post.py: the real settings plus one trivial view (the same-run baseline)."""

from loopdesk.settings import *  # noqa: F403

ROOT_URLCONF = "bench.tmf_urls"
