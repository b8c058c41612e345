"""Manifests: one test per kind of error, asserting the message; overrides; paths; YAML."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ifan.errors import ManifestError
from ifan.manifest import load_manifest
from ifan.plugins import FIND_A_PLUGIN, load_registry

VALID = """
[model]
iterations = 1

[tasks.landmarks]
batch_size = 8
heatmap_radius = 3

[tasks.landmarks.data]
format = "mtfl"
train = "data/training.txt"

[tasks.emotion.data]
format = "folder"
train = "fer/train"
test = "/abs/fer/test"
"""


@pytest.fixture(scope="module")
def registry():
    return load_registry(allow={"ifan"}, strict=True)


def write(tmp_path: Path, text: str, name: str = "m.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, registry, text: str, name: str = "m.toml", overrides=()) -> list:
    path = write(tmp_path, text, name)
    with pytest.raises(ManifestError) as info:
        load_manifest(path, overrides, registry)
    assert info.value.source == str(path)
    return info.value.problems


def one_problem(tmp_path, registry, text, name="m.toml", overrides=()) -> str:
    found = problems(tmp_path, registry, text, name, overrides)
    assert len(found) == 1, found
    return found[0]


def test_valid_manifest_is_typed_with_defaults_and_resolved_paths(tmp_path, registry) -> None:
    manifest = load_manifest(write(tmp_path, VALID), registry=registry)
    assert manifest.model.iterations == 1
    assert manifest.model.backbone == "fc-densenet" and manifest.model.input_size == 128
    assert list(manifest.tasks) == ["landmarks", "emotion"], "manifest order is task order"
    landmarks = manifest.tasks["landmarks"]
    assert landmarks.batch_size == 8 and landmarks.loss_weight == 1.0 and landmarks.tap == "down4"
    assert landmarks.options.heatmap_radius == 3
    assert landmarks.data.splits == {"train": tmp_path.resolve() / "data/training.txt"}
    emotion = manifest.tasks["emotion"]
    assert emotion.batch_size == 96, "the task's own default batch size (the paper's)"
    assert emotion.data.splits["test"] == Path("/abs/fer/test")
    assert manifest.train.out_dir == tmp_path.resolve() / "runs"
    dotted = load_manifest(write(tmp_path, VALID), ["train.out_dir='../x/../runs'"], registry)
    assert dotted.train.out_dir == tmp_path.resolve().parent / "runs", "paths are normalised"
    assert type(landmarks.build_task()).__name__ == "LandmarksTask"
    # missing data paths are warnings: a manifest can be checked away from its data
    assert len(manifest.warnings) == 3
    assert "tasks.landmarks.data.train" in manifest.warnings[0]
    assert f"{tmp_path / 'm.toml'}:11:" in manifest.warnings[0]


def test_yaml_manifest_equals_toml(tmp_path, registry) -> None:
    yaml_text = """
    model:
      iterations: 1
    tasks:
      landmarks:
        batch_size: 8
        heatmap_radius: 3
        data: {format: mtfl, train: data/training.txt}
      emotion:
        data:
          format: folder
          train: fer/train
          test: /abs/fer/test
    """
    from_yaml = load_manifest(write(tmp_path, yaml_text, "m.yaml"), registry=registry)
    from_toml = load_manifest(write(tmp_path, VALID), registry=registry)
    assert from_yaml.model == from_toml.model and from_yaml.train == from_toml.train
    assert from_yaml.tasks == from_toml.tasks


# ---- reading the file ----------------------------------------------------------------------


def test_missing_file(tmp_path, registry) -> None:
    with pytest.raises(ManifestError, match="file not found"):
        load_manifest(tmp_path / "nope.toml", registry=registry)


def test_unsupported_extension(tmp_path, registry) -> None:
    assert "use .toml, .yaml or .yml" in one_problem(tmp_path, registry, "x = 1", "m.json")


def test_toml_syntax_error_names_the_line(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, "[model]\niterations = = 2\n")
    assert message.startswith("invalid TOML:") and "line 2" in message


def test_yaml_syntax_error(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, "model: [1,\n", "m.yaml")
    assert (
        message == f"{tmp_path / 'm.yaml'}:2:1: invalid YAML: expected the node content, "
        "but found '<stream end>'"
    )


def test_yaml_tag_that_constructs_objects_is_refused(tmp_path, registry) -> None:
    hostile = 'model: !!python/object/apply:os.system ["touch pwned"]\n'
    message = one_problem(tmp_path, registry, hostile, "m.yaml")
    assert message.startswith(f"{tmp_path / 'm.yaml'}:1: could not determine a constructor")
    assert "YAML tags that construct objects are refused" in message
    assert not (tmp_path / "pwned").exists()


def test_yaml_duplicate_key(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, "model: {}\nmodel: {}\n", "m.yaml")
    assert message == f"{tmp_path / 'm.yaml'}:2: duplicate key 'model'"


def test_yaml_top_level_must_be_a_mapping(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, "- 1\n- 2\n", "m.yaml")
    assert "the top level is a list" in message


def test_non_utf8_file(tmp_path, registry) -> None:
    path = tmp_path / "m.toml"
    path.write_bytes(b"[model]\n# caf\xe9\n")
    with pytest.raises(ManifestError, match=r"not UTF-8 text \(byte 13\)"):
        load_manifest(path, registry=registry)


# ---- keys and values -----------------------------------------------------------------------

TASKS = '\n[tasks.emotion.data]\nformat = "folder"\ntrain = "x"\n'


def test_unknown_top_level_key_suggests(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, "[modle]\niterations = 1\n" + TASKS)
    assert message == (
        f"{tmp_path / 'm.toml'}:1: modle: unknown key; did you mean 'model'? valid keys here: "
        "model, train, tasks"
    )


def test_unknown_model_key_lists_valid_keys(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, "[model]\nbatchnrom = 'shared'\n" + TASKS)
    assert ":2: model.batchnrom: unknown key; did you mean 'batchnorm'?" in message
    assert "valid keys here: backbone, backbone_checkpoint, input_size" in message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("input_size = 100", "model.input_size = 100: Input should be a multiple of 32"),
        (
            "input_size = 1000000",
            "model.input_size = 1000000: Input should be less than or equal to 1024",
        ),
        ("iterations = 10000", "model.iterations = 10000: Input should be less than or equal to 8"),
        ("iterations = -1", "model.iterations = -1: Input should be greater than or equal to 0"),
        ("batchnorm = 'both'", "model.batchnorm = 'both': Input should be 'per-task' or 'shared'"),
        ("reencoder = 1", "model.reencoder = 1: Input should be 'learned' or 'resize'"),
        ("iterations = 'two'", "model.iterations = 'two': Input should be a valid integer"),
    ],
)
def test_bad_model_values(tmp_path, registry, line: str, expected: str) -> None:
    message = one_problem(tmp_path, registry, f"[model]\n{line}\n" + TASKS)
    assert message.startswith(f"{tmp_path / 'm.toml'}:2: {expected}")


def test_unknown_backbone_suggests_timm_names(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, "[model]\nbackbone = 'resnet181'\n" + TASKS)
    assert "model.backbone = 'resnet181': unknown backbone 'resnet181'" in message
    assert "did you mean 'resnet18'" in message


def test_train_learning_rate_must_decay(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, "[train]\nlr_finetune_end = 0.1\n" + TASKS)
    assert message.endswith(
        "train: lr_finetune_end (0.1) is above lr_finetune (0.001); stage 2 decays the "
        "learning rate"
    )


def test_negative_batch_size(tmp_path, registry) -> None:
    text = "[tasks.emotion]\nbatch_size = -4\n" + TASKS
    message = one_problem(tmp_path, registry, text)
    assert message == (
        f"{tmp_path / 'm.toml'}:2: tasks.emotion.batch_size = -4: Input should be greater than "
        "or equal to 1"
    )


# ---- tasks ---------------------------------------------------------------------------------


def test_tasks_table_is_required(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, "[model]\niterations = 0\n")
    assert "tasks: required table is missing" in message
    assert "installed tasks: emotion, landmarks, parsing" in message


def test_task_left_out_by_the_allow_list_says_so(tmp_path, install_plugin, toy_source) -> None:
    install_plugin("ifan-task-toy", "1.0", {"allow_toy": toy_source()}, {"toy": "allow_toy"})
    registry = load_registry(allow={"ifan-task-toy"})
    message = one_problem(tmp_path, registry, TASKS)
    assert "unknown task 'emotion' (loaded: toy)" in message
    assert "IFAN_PLUGINS leaves out ifan, which may provide it: add it to IFAN_PLUGINS" in message


def test_unknown_task_suggests_close_names(tmp_path, registry) -> None:
    text = '[tasks.landmark.data]\nformat = "mtfl"\ntrain = "x"\n'
    message = one_problem(tmp_path, registry, text)
    assert message == (
        f"{tmp_path / 'm.toml'}:1: tasks.landmark: unknown task 'landmark' (loaded: emotion, "
        "landmarks, parsing); did you mean 'landmarks'?"
    )


def test_unknown_task_says_where_to_look_and_guesses_no_package(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, '[tasks.age.data]\nformat = "utkface"\n')
    assert "unknown task 'age'" in message
    assert message.endswith(f"no loaded plugin provides it: {FIND_A_PLUGIN}")
    assert "pip install" not in message


def test_unknown_task_option(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, "[tasks.emotion]\ncolour = 'red'\n" + TASKS)
    assert "tasks.emotion.colour: unknown key; valid keys here: hidden, label_smoothing" in (
        message
    )
    assert message.endswith("batch_size, loss_weight, tap, on_bad_sample, augment, data")


def test_task_option_out_of_range(tmp_path, registry) -> None:
    text = '[tasks.landmarks]\nfailure_threshold = 2.0\n[tasks.landmarks.data]\nformat = "mtfl"'
    message = one_problem(tmp_path, registry, text + '\ntrain = "x"\n')
    assert "tasks.landmarks.failure_threshold = 2.0: Input should be less than or equal to 1" in (
        message
    )


def test_bad_tap(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, "[tasks.emotion]\ntap = 'down9'\n" + TASKS)
    assert "tasks.emotion.tap = 'down9': expected one of down0, down1" in message


def test_data_table_is_required(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, "[tasks.emotion]\nbatch_size = 4\n")
    assert "tasks.emotion.data: required table is missing: add [tasks.emotion.data] with " in (
        message
    )
    assert "(one of folder, fer2013-csv)" in message


def test_unknown_format_lists_the_tasks_formats(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, '[tasks.emotion.data]\nformat = "csv"\n')
    assert message.endswith(
        "tasks.emotion.data.format = 'csv': unknown format; emotion reads folder, fer2013-csv"
    )


def test_missing_format(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, '[tasks.emotion.data]\ntrain = "x"\n')
    assert "tasks.emotion.data.format: required key is missing; emotion reads folder" in message


def test_data_needs_a_split(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, '[tasks.emotion.data]\nformat = "folder"\n')
    assert message.endswith("tasks.emotion.data: give at least one of train, val and test")


def test_format_option_is_validated(tmp_path, registry) -> None:
    text = '[tasks.parsing.data]\nformat = "mask-folder"\ntrain = "x"\nclasses = ["bg"]\n'
    message = one_problem(tmp_path, registry, text)
    assert "tasks.parsing.data.classes = ['bg']: List should have at least 2 items" in message


def test_every_problem_is_reported_at_once(tmp_path, registry) -> None:
    text = """
    [model]
    iterations = -1
    input_size = 7
    [train]
    seed = -1
    [tasks.emotion]
    batch_size = 0
    [tasks.emotion.data]
    format = "folder"
    [tasks.nothing.data]
    """
    found = problems(tmp_path, registry, text)
    keys = [p.split(": ")[1].split(" = ")[0] for p in found]
    assert keys == [
        "model.input_size",
        "model.iterations",
        "train.seed",
        "tasks.emotion.batch_size",
        "tasks.emotion.data",
        "tasks.nothing",
    ]


def test_yaml_errors_name_the_line(tmp_path, registry) -> None:
    text = "tasks:\n  emotion:\n    batch_size: 0\n    data: {format: folder, train: x}\n"
    message = one_problem(tmp_path, registry, text, "m.yaml")
    assert message.startswith(f"{tmp_path / 'm.yaml'}:3: tasks.emotion.batch_size = 0:")


def test_task_claimed_by_two_plugins(tmp_path, install_plugin, toy_source) -> None:
    install_plugin(
        "ifan-task-one", "1.0", {"mdup_one": toy_source(task="dup")}, {"dup": "mdup_one"}
    )
    install_plugin(
        "ifan-task-two", "2.0", {"mdup_two": toy_source(task="dup")}, {"dup": "mdup_two"}
    )
    registry = load_registry(allow=None)
    message = one_problem(tmp_path, registry, '[tasks.dup.data]\nformat = "toy-folder"\n')
    assert "task 'dup' is provided by more than one plugin: ifan-task-one 1.0" in message
    assert "ifan-task-two 2.0" in message


def test_third_party_task_options_are_validated(tmp_path, install_plugin, toy_source) -> None:
    install_plugin("ifan-task-toy", "1.0", {"mtoy": toy_source()}, {"toy": "mtoy"})
    registry = load_registry(allow=None)
    text = '[tasks.toy]\nstrength = "high"\n[tasks.toy.data]\nformat = "toy-folder"\ntest = "t"\n'
    message = one_problem(tmp_path, registry, text)
    assert "tasks.toy.strength = 'high': Input should be a valid number" in message


# ---- overrides -----------------------------------------------------------------------------


def test_overrides_are_applied_and_typed(tmp_path, registry) -> None:
    manifest = load_manifest(
        write(tmp_path, VALID),
        [
            "model.iterations=3",
            "model.batchnorm=shared",
            "tasks.landmarks.loss_weight=0.5",
            'tasks.emotion.data.format="folder"',
            "train.lr_pretrain=1e-4",
        ],
        registry,
    )
    assert manifest.model.iterations == 3 and manifest.model.batchnorm == "shared"
    assert manifest.tasks["landmarks"].loss_weight == 0.5
    assert manifest.train.lr_pretrain == 1e-4
    assert manifest.data["model"]["iterations"] == 3, "the data kept with a run has them too"


def test_override_can_add_a_task(tmp_path, registry) -> None:
    manifest = load_manifest(
        write(tmp_path, VALID),
        ["tasks.parsing.data.format=fasseg", "tasks.parsing.data.train=faces"],
        registry,
    )
    assert list(manifest.tasks) == ["landmarks", "emotion", "parsing"]
    assert manifest.tasks["parsing"].data.splits["train"] == tmp_path.resolve() / "faces"


def test_bad_override_value_says_it_came_from_set(tmp_path, registry) -> None:
    message = one_problem(tmp_path, registry, VALID, overrides=["model.iterations=many"])
    assert "model.iterations = 'many' (from --set model.iterations=many): Input should be a " in (
        message
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("iterations", "'iterations': expected KEY.PATH=VALUE"),
        ("model..x=1", "'model..x=1': expected KEY.PATH=VALUE"),
        ("model.iterations.x=1", "model.iterations is a int, not a table, so it has no key 'x'"),
    ],
)
def test_malformed_override(tmp_path, registry, override: str, expected: str) -> None:
    with pytest.raises(ManifestError) as info:
        load_manifest(write(tmp_path, VALID), [override], registry)
    assert info.value.source == "--set"
    assert info.value.problems == [expected] or expected in info.value.problems[0]
