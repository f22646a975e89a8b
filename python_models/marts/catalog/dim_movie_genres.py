"""One row per movie and genre: the movie catalogue's genres, exploded."""

from pyspark.sql import functions as F


def model(dbt, session):
    dbt.config(materialized="table")
    movies = dbt.ref("dim_movies")
    return (
        movies.where(F.col("genres").isNotNull())
        .select(
            "movie_id",
            F.posexplode(F.split("genres", r"\|")).alias("genre_index", "genre"),
        )
        .select(
            "movie_id",
            F.trim("genre").alias("genre"),
            (F.col("genre_index") + 1).alias("genre_position"),
        )
    )
