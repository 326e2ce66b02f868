from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mosu.evals.errors import DataError, TaskError
from mosu.evals.tasks import builtin_tasks, load_task, parse_task


def _task(**changes: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "name": "toy",
        "splits": {
            "test": {
                "format": "inline",
                "label_field": "y",
                "id_field": "id",
                "rows": [{"id": 1, "q": "一加一", "y": "二"}, {"id": 2, "q": "二加二", "y": "四"}],
            }
        },
        "prompt": {"template": "问：{{ q }}"},
        "scorers": ["exact_match"],
    }
    task.update(changes)
    return task


def test_inline_task_builds_messages() -> None:
    task = parse_task(_task(prompt={"template": "问：{{ q }}", "system": "只答数字"}))
    sample = task.samples()[0]
    assert (sample.id, sample.label) == ("1", "二")
    assert task.messages(sample) == [
        {"role": "system", "content": "只答数字"},
        {"role": "user", "content": "问：一加一"},
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "red"}, "colour: unknown field"),
        (
            {"prompt": {"template": "{{ question }}"}},
            "template variable(s) question not in the data",
        ),
        ({"scorers": ["accuracy", "bleurt"]}, "unknown scorer 'bleurt'"),
        ({"parser": "magic"}, "unknown parser 'magic'"),
        ({"prompt": {"template": "{{ q "}}, "template syntax error"),
        ({"eval_split": "dev"}, "eval_split 'dev' is not one of the splits"),
        ({"scorers": []}, "scorers: List should have at least 1 item"),
    ],
)
def test_invalid_tasks_are_explained(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(TaskError) as info:
        parse_task(_task(**changes))
    assert message in str(info.value)


def test_duplicate_ids_error_unless_keep_first() -> None:
    rows = [{"id": 1, "q": "a", "y": "x"}, {"id": 1, "q": "a", "y": "z"}]
    split = {"format": "inline", "label_field": "y", "id_field": "id", "rows": rows}
    with pytest.raises(DataError, match="id 1 repeated at row 2 with a conflicting label"):
        parse_task(_task(splits={"test": split}))
    task = parse_task(_task(splits={"test": {**split, "duplicates": "keep_first"}}))
    assert [(s.id, s.label) for s in task.samples()] == [("1", "x")]
    assert "conflicting label" in task.samples()[0].warnings[0]


def test_builtin_tasks_load_the_shared_data(shared_data: Path) -> None:
    assert set(builtin_tasks()) >= {"cmmlu", "cmmlu_5shot", "tnews", "gov_messages"}
    tnews = load_task("tnews", data_dir=shared_data)
    assert len(tnews.samples()) == 2010
    assert len(set(s.label for s in tnews.samples())) == 15
    gov = load_task("gov_messages", data_dir=shared_data)
    train, test = gov.samples("train"), gov.samples("test")
    assert len(train) + len(test) == 494
    assert not {s.id for s in train} & {s.id for s in test}
    five = load_task("cmmlu_5shot", data_dir=shared_data)
    sample = five.samples()[0]
    content = five.messages(sample)[-1]["content"]
    assert content.count("答案：") == 6
    assert len(five.samples()) == 11582


def test_missing_data_dir_is_explained(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="data not found"):
        load_task("tnews", data_dir=tmp_path)


def _fewshot_task(category_field: str, labels: list[str], **fewshot: Any) -> dict[str, Any]:
    rows = [
        {"id": i, "q": f"标题{i}", "y": lab, "kind": lab if category_field == "kind" else "x"}
        for i, lab in enumerate(labels)
    ]
    split = {
        "format": "inline",
        "label_field": "y",
        "id_field": "id",
        "category_field": category_field,
        "rows": rows,
    }
    return _task(
        splits={"test": split, "train": split},
        prompt={"template": "{{ q }}", "fewshot": {"split": "train", "n": 3, **fewshot}},
    )


def test_fewshot_by_a_category_that_is_the_label_is_refused() -> None:
    labels = ["体育", "财经", "教育"] * 10
    with pytest.raises(TaskError) as same_field:
        parse_task(_fewshot_task("y", labels), where="t.yaml")
    assert str(same_field.value) == (
        "t.yaml: prompt.fewshot.same_category: category_field 'y' is the label_field: the "
        "category is the label on 30 of 30 rows of split 'test': same_category would put the "
        "gold answer into every prompt; set same_category: false or choose another "
        "category_field"
    )
    # another field holding the label's values on (nearly) every row
    with pytest.raises(
        TaskError, match="equals the label \\('y'\\): the category is the label on 30 of 30"
    ):
        parse_task(_fewshot_task("kind", labels))
    # without same_category, or with a category that is not the label, it loads
    parse_task(_fewshot_task("y", labels, same_category=False))
    assert parse_task(_fewshot_task("q", labels)).samples()[0].category == "标题0"


def test_tnews_fewshot_by_its_label_is_refused(shared_data: Path) -> None:
    """The real case: TNEWS's category_field is its label field (label_desc, mapped to
    Chinese labels), and same_category is the few-shot default."""
    with pytest.raises(TaskError) as caught:
        load_task(
            "tnews",
            data_dir=shared_data,
            overrides={"prompt": {"template": "{{ sentence }}", "fewshot": {"split": "train"}}},
        )
    message = "".join(str(caught.value).split())
    assert "category_field'label_desc'isthelabel_field" in message
    assert "thecategoryisthelabelon2010of2010rowsofsplit'test'" in message
    assert "same_categorywouldputthegoldanswerintoeveryprompt" in message


@pytest.mark.parametrize(
    ("generation", "message"),
    [
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop takes 1 to 4 sequences, got 5"),
        ({"stop": ""}, "a stop sequence may not be empty"),
        ({"extra_body": {"messages": []}}, "extra_body may not set 'messages': the engine sets it"),
        ({"extra_body": {"model": "x"}}, "extra_body may not set 'model'"),
        ({"extra_body": {"stream": True}}, "extra_body may not set 'stream'"),
        ({"extra_body": {"seed": 1}}, "extra_body may not set 'seed': set generation.seed"),
        ({"top_p": 0}, "top_p: Input should be greater than 0"),
        ({"sed": 1}, "generation.sed: unknown field"),
    ],
)
def test_generation_controls_are_checked(generation: dict[str, Any], message: str) -> None:
    with pytest.raises(TaskError) as info:
        parse_task(_task(generation=generation))
    assert message in str(info.value)


def test_generation_controls_load() -> None:
    generation = {
        "seed": 7,
        "stop": ["###"],
        "top_p": 0.9,
        "extra_body": {"chat_template_kwargs": {"enable_thinking": False}},
    }
    task = parse_task(_task(generation=generation, epochs=3))
    assert task.spec.generation.stop == "###"  # one sequence is sent as a string
    assert task.spec.epochs == 3
    with pytest.raises(TaskError, match="epochs: Input should be greater than or equal to 1"):
        parse_task(_task(epochs=0))


def test_yaml_label_map_with_integer_keys(tmp_path: Path) -> None:
    (tmp_path / "news.jsonl").write_text(
        '{"id": 1, "title": "股市大涨", "label": 0}\n{"id": 2, "title": "球队夺冠", "label": 1}\n',
        encoding="utf-8",
    )
    (tmp_path / "news.yaml").write_text(
        """
name: news
labels: [财经, 体育]
splits:
  test:
    format: jsonl
    path: news.jsonl
    id_field: id
    label_field: label
    category_field: label
    label_map: {0: 财经, 1: 体育}
prompt: {template: "{{ title }}"}
scorers: [accuracy]
""",
        encoding="utf-8",
    )
    task = load_task(tmp_path / "news.yaml", data_dir=tmp_path)
    assert [(s.label, s.category) for s in task.samples()] == [("财经", "财经"), ("体育", "体育")]


def test_tsv_without_header_from_yaml(tmp_path: Path) -> None:
    (tmp_path / "d.tsv").write_text("1\t一加一\t二\n2\t二加二\t四\n", encoding="utf-8")
    text = """
name: toy
splits:
  test:
    format: csv
    path: d.tsv
    delimiter: {delimiter}
    header: false
    columns: [id, q, y]
    id_field: id
    label_field: y
prompt: {{template: "{{{{ q }}}}"}}
scorers: [exact_match]
"""
    for written in ('"\\t"', "'\\t'"):  # a tab, and the two characters of an escape
        (tmp_path / "t.yaml").write_text(text.format(delimiter=written), encoding="utf-8")
        task = load_task(tmp_path / "t.yaml", data_dir=tmp_path)
        assert [(s.id, s.fields, s.label) for s in task.samples()] == [
            ("1", {"id": "1", "q": "一加一"}, "二"),
            ("2", {"id": "2", "q": "二加二"}, "四"),
        ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"header": False}, "header: false needs columns"),
        ({"columns": ["id", "q", "y"]}, "columns names the fields of a file without a header"),
        ({"delimiter": ";;"}, "delimiter must be one character"),
    ],
)
def test_csv_options_are_checked(changes: dict[str, Any], message: str) -> None:
    split = {"format": "csv", "path": "d.csv", "label_field": "y", **changes}
    with pytest.raises(TaskError, match=message):
        parse_task(_task(splits={"test": split}))


def test_csv_options_are_only_for_csv() -> None:
    split = {**_task()["splits"]["test"], "delimiter": "\t"}
    with pytest.raises(TaskError, match="delimiter: only for format 'csv'"):
        parse_task(_task(splits={"test": split}))


def test_fewshot_examples_may_not_come_from_the_evaluated_split() -> None:
    rows = [{"id": i, "q": f"q{i}", "label": "AB"[i % 2]} for i in range(6)]
    spec = {
        "name": "leak",
        "splits": {
            "test": {"format": "inline", "rows": rows, "id_field": "id", "label_field": "label"}
        },
        "prompt": {"template": "{{ q }}", "fewshot": {"split": "test", "n": 2}},
        "scorers": ["accuracy"],
    }
    with pytest.raises(TaskError, match="is the evaluated split"):
        parse_task(spec, where="leak.yaml")
