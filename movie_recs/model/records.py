"""What a night saves beside its model (`<model_dir>/metrics`): the parameters
it trained with and the metrics it measured, one JSON document each."""

from __future__ import annotations

import json
from typing import NamedTuple

from pyspark.sql import SparkSession


class ModelRecord(NamedTuple):
    params: dict
    metrics: dict


def save_model_record(spark: SparkSession, model_dir: str, record: ModelRecord) -> None:
    spark.createDataFrame(
        [(json.dumps(record.params), json.dumps(record.metrics))], "params string, metrics string"
    ).write.format("delta").mode("overwrite").save(f"{model_dir}/metrics")


def read_model_record(spark: SparkSession, model_dir: str) -> ModelRecord:
    row = spark.read.format("delta").load(f"{model_dir}/metrics").first()
    return ModelRecord(json.loads(row["params"]), json.loads(row["metrics"]))


def read_model_metrics(spark: SparkSession, model_dir: str) -> dict:
    return read_model_record(spark, model_dir).metrics
