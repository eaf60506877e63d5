"""What the tests' `a100m` child processes share: small Spark settings for a 2-core machine."""

# The tests' JVMs run tiny data for seconds: C2, the JIT's optimising tier, costs more CPU than
# it gives back in that time (a crash child's explode of 12 videos: 37-45 s against 53-67 s with
# both tiers, measured side by side on 2 cores). Production runs keep Java's default.
TEST_JVM_OPTIONS = "-XX:TieredStopAtLevel=1"

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
    "--spark-conf",
    f"spark.driver.extraJavaOptions={TEST_JVM_OPTIONS}",
]
