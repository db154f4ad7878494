"""The one data converter used by the worker, every client, the tests and the replayer."""

from temporalio.contrib.pydantic import pydantic_data_converter

DATA_CONVERTER = pydantic_data_converter
