"""What the tests' Spark sessions share: small settings for a 2-core machine and tiny data."""

# One place for the tests' Spark settings: the shared session (conftest) and every `a100m` child
# process (SPARK_FLAGS) use these.
TEST_SPARK_CONF = {
    # One partition for tables of tens of rows: each task is scheduled, serialised and run, so
    # two of them cost more than one, and Delta's snapshot state (50 partitions by default) is
    # rebuilt at every new table version. Measured on 10 videos: warm validate 10.2 -> 9.2 s,
    # stats 10.2 -> 9.3 s, a cold explode 15.3 -> 13.9 s.
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "1",
    "spark.databricks.delta.snapshotPartitions": "1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "1g",
    # The tests' tables hold tens of rows: compiling generated Java for each new plan costs more
    # than it saves. Interpreted evaluation gives the same results (Spark's own tests run both
    # modes); measured on 10 videos, warm validate 12.6 -> 10.9 s, stats 12.1 -> 10.7 s.
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}

SPARK_FLAGS = [
    flag for key, value in TEST_SPARK_CONF.items() for flag in ("--spark-conf", f"{key}={value}")
]
