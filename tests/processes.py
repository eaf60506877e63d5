"""What the tests' `a100m` child processes share: small Spark settings for a 2-core machine."""

SPARK_FLAGS = [
    "--spark-conf",
    "spark.sql.shuffle.partitions=2",
    "--spark-conf",
    "spark.default.parallelism=2",
    "--spark-conf",
    "spark.ui.enabled=false",
    "--spark-conf",
    "spark.ui.showConsoleProgress=false",
    "--spark-conf",
    "spark.driver.memory=1g",
]
