"""The stage graph: which stages a target needs, in which order."""
import pytest

from builder.errors import BuildError
from builder.parser import parse_dockerfile
from builder.plan import Source, plan_build
from builder.scope import meta_lookup, meta_scope

MULTI = """\
ARG GO=1.21
FROM golang:${GO} AS build
RUN make
FROM build AS test
RUN make test
FROM alpine AS docs
RUN mkdocs
FROM scratch
COPY --from=build /app /app
COPY --from=docs /site /site
COPY --from=nginx:latest /etc/nginx/nginx.conf /etc/
"""


def plan(text, target=None, build_args=None):
    dockerfile = parse_dockerfile(text)
    meta = meta_scope(dockerfile.meta_args, build_args or {}, {})
    return plan_build(dockerfile, target, meta_lookup(meta, {}))


def test_the_last_stage_needs_only_what_it_copies_from():
    result = plan(MULTI)
    assert [p.stage.index for p in result.stages] == [0, 2, 3]   # `test` is not built
    assert result.target == 3
    assert result.images() == ["golang:1.21", "alpine", "nginx:latest"]
    final = result.stages[-1]
    assert final.base_source == Source(scratch=True)
    assert final.copy_sources == {0: Source(stage=0), 1: Source(stage=2), 2: Source(image="nginx:latest")}


def test_a_target_builds_its_base_stages_first():
    result = plan(MULTI, target="TEST", build_args={"GO": "1.22"})
    assert [p.stage.label for p in result.stages] == ["build", "test"]
    assert result.stages[1].base_source == Source(stage=0)
    assert result.images() == ["golang:1.22"]


def test_copy_from_by_index_and_a_later_stage():
    result = plan("FROM a\nCOPY --from=1 /x /x\nFROM b AS later\nRUN true\n", target=None)
    assert [p.stage.index for p in result.stages] == [1]
    first = plan("FROM a\nCOPY --from=later /x /x\nFROM b AS later\n", target=None).stages
    assert [p.stage.index for p in first] == [1]
    from_first = plan("FROM a AS one\nCOPY --from=later /x /x\nFROM b AS later\n", target="one").stages
    assert [p.stage.index for p in from_first] == [1, 0]


def test_from_a_later_stage_name_is_an_image():
    result = plan("FROM later\nFROM b AS later\n", target=None)
    assert result.stages[0].base_source == Source(image="b")
    assert result.images() == ["b"]


@pytest.mark.parametrize("text, target, message", [
    ("FROM a\nCOPY --from=5 /x /x\n", None, "^Dockerfile:2: COPY: --from=5: invalid stage index 5 \\(the Dockerfile has 1 stages\\)"),
    ("FROM a AS me\nCOPY --from=me /x /x\n", None, "^Dockerfile:2: COPY: --from=me names the stage this instruction is in"),
    ("FROM a AS one\nCOPY --from=two /x /x\nFROM b AS two\nCOPY --from=one /y /y\n", None,
     "^circular dependency detected on stage: "),
    ("FROM a\n", "nope", "^target stage 'nope' could not be found \\(named stages: none\\)"),
    ("FROM $EMPTY\n", None, "^Dockerfile:1: FROM: the image name is empty after substitution"),
    ("FROM Bad:Name\n", None, "^Dockerfile:1: FROM: 'Bad:Name' is neither a stage nor a valid image reference"),
    ("FROM a\nCOPY --from=${ /x /x\n", None, "^Dockerfile:2: COPY: failed to process"),
])
def test_plan_errors(text, target, message):
    with pytest.raises(BuildError, match=message):
        plan(text, target)
