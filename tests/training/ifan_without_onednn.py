"""``ifan`` with oneDNN off (``torch.backends.mkldnn.enabled = False``): the distributed tests'
command, so that a convolution of a 2-image batch rounds as one of a 4-image batch on every CPU.

    python tests/training/ifan_without_onednn.py train MANIFEST ...   (or under torchrun)
"""

import sys

import torch

from ifan.cli.main import main

if __name__ == "__main__":
    torch.backends.mkldnn.enabled = False
    sys.exit(main(sys.argv[1:]))
