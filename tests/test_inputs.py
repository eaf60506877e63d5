"""Bad inputs are refused with an error naming the file and the field; nothing is written."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pipelines.cli import EXIT_DATA, main
from pipelines.core.errors import InputError
from pipelines.core.lake import table_path, table_version
from pipelines.core.raw import METADATA, NODE, RAW_ARROW_SCHEMA
from pipelines.ingest.stage import explode
from tests.rawdata import small_tree_video, write_raw


def _node_schema_with(level_type: pa.DataType | None = None, extra: bool = False) -> pa.Schema:
    fields = [f for f in NODE]
    if level_type is not None:
        fields = [pa.field("level", level_type) if f.name == "level" else f for f in fields]
    if extra:
        fields.append(pa.field("score", pa.float64()))
    return pa.schema(
        [("video_uid", pa.string()), ("metadata", METADATA), ("nodes", pa.list_(pa.struct(fields)))]
    )


def _refused(spark, lake, *paths) -> list[str]:
    with pytest.raises(InputError) as info:
        explode(spark, [str(p) for p in paths], lake)
    assert table_version(spark, table_path(lake, "videos")) is None, "nothing may be written"
    return info.value.problems


def test_a_wrong_type_names_the_field_path_and_the_file(spark, tmp_path, lake):
    video = small_tree_video()
    for n in video["nodes"]:
        n["level"] = str(n["level"])
    bad = write_raw(
        tmp_path / "shard-0003.parquet", [video], _node_schema_with(level_type=pa.string())
    )
    assert _refused(spark, lake, bad) == [
        "nodes.element.level: expected smallint, found string in shard-0003.parquet"
    ]


def test_a_widened_integer_is_not_coerced(spark, tmp_path, lake):
    bad = write_raw(
        tmp_path / "wide.parquet", [small_tree_video()], _node_schema_with(level_type=pa.int64())
    )
    assert _refused(spark, lake, bad) == [
        "nodes.element.level: expected smallint, found bigint in wide.parquet"
    ]


def test_an_extra_field_is_refused(spark, tmp_path, lake):
    bad = write_raw(tmp_path / "extra.parquet", [small_tree_video()], _node_schema_with(extra=True))
    assert _refused(spark, lake, bad) == [
        "nodes.element.score: unexpected field (double) in extra.parquet"
    ]


def test_a_missing_field_is_refused_and_good_files_are_not_written_either(spark, tmp_path, lake):
    schema = pa.schema([f for f in RAW_ARROW_SCHEMA if f.name != "metadata"])
    row = {k: v for k, v in small_tree_video().items() if k != "metadata"}
    bad = write_raw(tmp_path / "in" / "missing.parquet", [row], schema)
    write_raw(tmp_path / "in" / "good.parquet", [small_tree_video("vid00000002")])
    problems = _refused(spark, lake, tmp_path / "in")
    assert problems == [
        "metadata: missing field (expected struct<title:string,description:string,view_count:bigint,"
        "like_count:bigint,duration:bigint,upload_date:string,transcript:array<struct<time:string,"
        "text:string>>>) in missing.parquet"
    ]
    assert bad.exists()


def test_a_truncated_file_is_named(spark, tmp_path, lake):
    good = write_raw(tmp_path / "t.parquet", [small_tree_video()])
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])
    [problem] = _refused(spark, lake, good)
    assert problem.startswith(f"file:{good}: unreadable Parquet file (")


def test_an_empty_file_is_named(spark, tmp_path, lake):
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    [problem] = _refused(spark, lake, empty)
    assert problem.startswith(f"file:{empty}: unreadable Parquet file (")


def test_corrupt_pages_behind_a_good_footer_name_the_file(spark, tmp_path, lake, real_sample):
    from tests.test_lake import _corrupt_copy

    corrupt = tmp_path / "pages.parquet"
    _corrupt_copy(real_sample, corrupt)
    [problem] = _refused(spark, lake, corrupt)
    assert "pages.parquet: unreadable Parquet data (" in problem


def test_a_json_value_of_the_wrong_type_names_record_and_field(spark, tmp_path, lake):
    import json

    video = small_tree_video()
    video["nodes"][2]["start"] = "6.0"
    columns = {k: [v] for k, v in video.items()}
    path = tmp_path / "video.json"
    path.write_text(json.dumps(columns))
    assert _refused(spark, lake, path) == [
        "nodes.element.start: expected float, found string '6.0' in video.json (record 0)"
    ]


def test_a_json_number_too_large_for_float32_is_refused_not_stored_as_infinity(
    spark, tmp_path, lake
):
    import json

    video = small_tree_video()
    video["nodes"][2]["end"] = 1e39
    path = tmp_path / "video.json"
    path.write_text(json.dumps({k: [v] for k, v in video.items()}))
    assert _refused(spark, lake, path) == [
        "nodes.element.end: 1e+39 is too large for float in video.json (record 0)"
    ]


def test_a_missing_input_is_named(spark, tmp_path, lake):
    assert _refused(spark, lake, tmp_path / "nowhere") == [
        f"{tmp_path / 'nowhere'}: no such file, folder or matching glob"
    ]


def test_the_command_exits_1_and_prints_the_problem(spark, tmp_path, lake, capsys):
    video = small_tree_video()
    video["nodes"][0]["gpt"] = None
    schema = pa.schema(
        [
            ("video_uid", pa.string()),
            ("metadata", METADATA),
            (
                "nodes",
                pa.list_(
                    pa.struct(
                        [f if f.name != "gpt" else pa.field("gpt", pa.string()) for f in NODE]
                    )
                ),
            ),
        ]
    )
    for n in video["nodes"]:
        n["gpt"] = None
    bad = write_raw(tmp_path / "gpt.parquet", [video], schema)
    code = main(["explode", "--input", str(bad), "--lake", lake])
    assert code == EXIT_DATA
    err = capsys.readouterr().err
    assert "nothing was written" in err
    assert "nodes.element.gpt: expected struct<summary:struct<brief:string,detailed:string>," in err
