"""What the bench scripts that run kmq and its peers on a list of images share:
their arguments and a wall-clock timer."""
import argparse
import subprocess
import time


def parser():
    """KMQ OUTDIR IMAGE... [--k 16,64,256], for a script to add its own to."""
    ap = argparse.ArgumentParser()
    ap.add_argument("kmq")
    ap.add_argument("outdir")
    ap.add_argument("images", nargs="+")
    ap.add_argument("--k", default="16,64,256")
    return ap


def timed(cmd, **kw):
    """Wall seconds of cmd, which must succeed; its output is discarded."""
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t
