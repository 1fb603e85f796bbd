"""The training pipeline's modules are plain scripts beside this folder: put it on the path."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
