"""What the tests' Spark sessions share: small settings for a 2-core machine and tiny data."""

# One place for the tests' Spark settings: the shared session (conftest) and every `a100m` child
# process (SPARK_FLAGS) use these.
TEST_SPARK_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
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
