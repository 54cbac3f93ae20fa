"""Test-only fault injection, switched on by the TWDNE_FAULT environment variable.

TWDNE_FAULT is a comma-separated list of:
  oom_above=N        answer "oom" to any batch with more than N items
  kill_once=PATH     on the first batch while PATH does not exist: create PATH, write the first
                     item's output, then SIGKILL this process mid-batch
  kill_always        SIGKILL this process on every batch
  fail_ids=A:B:C     report an item error for these ids
  delay=SECONDS      sleep this long before answering each batch
Unset in normal use; nothing here runs then.
"""

import os
import signal
import time
from pathlib import Path

from .errors import OutOfMemory, SidecarError


def parse(spec):
    """The fault settings as a dict, from a TWDNE_FAULT string."""
    faults = {}
    for part in filter(None, (spec or "").split(",")):
        key, _, value = part.partition("=")
        faults[key.strip()] = value.strip()
    return faults


FAULTS = parse(os.environ.get("TWDNE_FAULT"))


def before_batch(items):
    """Raises or kills as configured, before any work on a batch."""
    if not FAULTS:
        return
    if "delay" in FAULTS:
        time.sleep(float(FAULTS["delay"]))
    if "oom_above" in FAULTS and len(items) > int(FAULTS["oom_above"]):
        raise OutOfMemory(f"injected out of memory at batch size {len(items)}")
    if "kill_always" in FAULTS:
        os.kill(os.getpid(), signal.SIGKILL)


def mid_batch():
    """Kills the process once, after part of a batch was written, when kill_once is set."""
    marker = FAULTS.get("kill_once")
    if marker and not Path(marker).exists():
        Path(marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)


def item_error(item_id):
    """An injected per-item failure, or None."""
    ids = FAULTS.get("fail_ids")
    if ids and str(item_id) in ids.split(":"):
        return SidecarError(f"injected failure for id {item_id}")
    return None
