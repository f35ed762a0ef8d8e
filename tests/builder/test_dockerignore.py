""".dockerignore patterns with docker's semantics, from the reference's examples."""
import pytest

from builder.dockerignore import IgnoreRules
from builder.errors import BuildError


def excluded(rules, *paths):
    parsed = IgnoreRules.parse(rules)
    return {path: parsed.excluded(path) for path in paths}


def test_the_reference_example():
    rules = "# comment\n*/temp*\n*/*/temp*\ntemp?\n"
    assert excluded(rules, "somedir/temporary.txt", "somedir/temp", "somedir/subdir/temporary.txt",
                    "tempa", "tempb", "temp", "temp.txt", "a/b/c/temp") == {
        "somedir/temporary.txt": True, "somedir/temp": True, "somedir/subdir/temporary.txt": True,
        "tempa": True, "tempb": True, "temp": False, "temp.txt": False, "a/b/c/temp": False}


def test_double_star_matches_any_number_of_directories():
    assert excluded("**/*.go", "main.go", "a/b/c.go", "a/go.mod") == {
        "main.go": True, "a/b/c.go": True, "a/go.mod": False}
    assert excluded("a/**/z", "a/z", "a/b/z", "a/b/c/z", "b/z") == {
        "a/z": True, "a/b/z": True, "a/b/c/z": True, "b/z": False}
    assert excluded("foo/**", "foo", "foo/x", "foo/x/y") == {"foo": False, "foo/x": True, "foo/x/y": True}
    assert excluded("**", "x", "x/y") == {"x": True, "x/y": True}


@pytest.mark.parametrize("rules, expected", [
    ("*.md\n!README.md\n", {"README.md": False, "CHANGES.md": True, "README-secret.md": True}),
    ("*.md\n!README*.md\nREADME-secret.md\n", {"README.md": False, "CHANGES.md": True, "README-secret.md": True}),
    ("*.md\nREADME-secret.md\n!README*.md\n", {"README.md": False, "CHANGES.md": True, "README-secret.md": False}),
])
def test_exceptions_the_last_matching_line_wins(rules, expected):
    assert excluded(rules, *expected) == expected


def test_a_directory_pattern_excludes_what_is_beneath_it():
    assert excluded("build/\n/node_modules\n./dist\n", "build", "build/x/y.o", "node_modules/a", "dist/a",
                    "src/build") == {"build": True, "build/x/y.o": True, "node_modules/a": True,
                                     "dist/a": True, "src/build": False}


def test_an_exception_inside_an_excluded_directory():
    assert excluded("docs\n!docs/keep.md\n", "docs/keep.md", "docs/other.md") == {
        "docs/keep.md": False, "docs/other.md": True}


def test_matching_is_per_path_element_and_escapes_work():
    assert excluded("a*b\nq?\n\\*lit\n[xy]z\n[^a]w\n", "ab", "aXb", "a/b", "q1", "q12", "*lit", "xlit",
                    "xz", "yz", "zz", "bw", "aw") == {
        "ab": True, "aXb": True, "a/b": False, "q1": True, "q12": False, "*lit": True, "xlit": False,
        "xz": True, "yz": True, "zz": False, "bw": True, "aw": False}


def test_whitespace_comments_and_regex_characters():
    assert excluded("  spaced.txt  \n# not.txt\n ! spaced.txt\nfile(1).txt\na+b\n", "spaced.txt", "not.txt",
                    "file(1).txt", "a+b", "aab") == {
        "spaced.txt": False, "not.txt": False, "file(1).txt": True, "a+b": True, "aab": False}


def test_a_bad_pattern_is_one_line_with_its_place():
    with pytest.raises(BuildError, match=r"^\.dockerignore:2: bad pattern '\[unclosed'"):
        IgnoreRules.parse("ok\n[unclosed\n")
