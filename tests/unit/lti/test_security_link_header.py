"""A platform's Link header cannot stall the worker that reads it (regex DoS).

The header comes from whoever runs the platform (dynamic registration lets anyone
be one). Parsing used to take time quadratic in its length: 64 KiB of "<", the most
a response header line may hold, took minutes of CPU. This is no speed test: the
parse runs in a child process and only has to finish within a bound a hundred times
what it needs, which the old pattern missed by minutes.
"""

from __future__ import annotations

import subprocess
import sys

from masteryai_lti.lti.service_client import next_page_url

PARSE_HOSTILE_HEADER = """
from masteryai_lti.lti.service_client import link_targets
for header in ("<" * 65536, "<" * 32768 + ">" , "<a" * 32768):
    link_targets(header, "next")
"""


def test_a_hostile_link_header_is_parsed_in_linear_time():
    finished = subprocess.run(
        [sys.executable, "-c", PARSE_HOSTILE_HEADER], timeout=30, capture_output=True
    )
    assert finished.returncode == 0, finished.stderr.decode()


def test_a_link_header_of_only_brackets_names_no_page():
    assert next_page_url("<" * 1000) is None
    assert next_page_url('<<https://lms.example/p2>; rel="next"') == "https://lms.example/p2"
