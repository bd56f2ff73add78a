"""Sequence data: the container every task and loader returns, plus real-data loading."""

from rnnscope.data.dataset import DataBundle, Split
from rnnscope.data.formats import DataFormatError
from rnnscope.data.ucr import list_datasets, load_dataset, load_directory

__all__ = ["DataBundle", "DataFormatError", "Split", "list_datasets", "load_dataset", "load_directory"]
