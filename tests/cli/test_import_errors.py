"""``kodiak import`` and ``export`` errors in the user's terms: file, line and column; bad
rows skipped with ``--max-errors`` into a rejects file; a wrong delimiter detected; a missing
export directory named."""

from __future__ import annotations

import csv

import pytest

from .conftest import kodiak


@pytest.fixture
def files(tmp_path):
    (tmp_path / "bad.csv").write_text("id,name,km\n1,a,2.5\n2,b,x\n3,c,4\n")
    (tmp_path / "ragged.csv").write_text("id,name\n1,a\n2,b,c\n3,d\n")
    (tmp_path / "semi.csv").write_text("id;name;km\n1;a;2.5\n2;b;3\n")
    return tmp_path


def csv_rows(r) -> list[str]:
    return r.stdout.splitlines()


def test_errors_name_file_line_and_column(files, data_dir):
    kodiak("sql", "--data-dir", data_dir, "-c", "create table t (id int, name varchar, "
           "km double)")
    r = kodiak("import", files / "bad.csv", "t", "--data-dir", data_dir)
    assert r.code == 1 and r.err_lines == [
        f"error: {files / 'bad.csv'}, line 3, column 3 (km): 'x' is not a valid double value"]
    r = kodiak("import", files / "ragged.csv", "r", "--data-dir", data_dir)
    assert r.err_lines == [f"error: {files / 'ragged.csv'}, line 3: 3 fields where the "
                           "header has 2"]


def test_max_errors_skips_bad_rows_into_a_rejects_file(files, data_dir):
    kodiak("sql", "--data-dir", data_dir, "-c", "create table t (id int, name varchar, "
           "km double)")
    r = kodiak("import", files / "bad.csv", "t", "--data-dir", data_dir, "--max-errors", "1")
    assert r.code == 0, r.stderr
    rejects = files / "bad.csv.rejects.csv"
    assert f"skipped 1 bad rows, written to {rejects}" in r.stderr
    assert list(csv.reader(rejects.open())) == [
        ["line", "column", "reason", "row"], ["3", "km", "'x' is not a valid double value",
                                               "2,b,x"]]
    r = kodiak("sql", "--data-dir", data_dir, "--format", "csv", "-c",
               "select id, km from t order by id")
    assert csv_rows(r) == ['"id","km"', "1,2.5", "3,4"]
    r = kodiak("import", files / "ragged.csv", "r", "--data-dir", data_dir, "--max-errors",
               "1", "--rejects", files / "r.rejects")
    assert r.code == 0 and "imported 2 rows into r" in r.stdout
    assert "2,b,c" in (files / "r.rejects").read_text()


def test_more_bad_rows_than_allowed_imports_nothing(files, data_dir):
    kodiak("sql", "--data-dir", data_dir, "-c", "create table n (id int, km int)")
    (files / "two.csv").write_text("id,km\n1,2\n2,x\n3,y\n4,5\n")
    r = kodiak("import", files / "two.csv", "n", "--data-dir", data_dir, "--max-errors", "1")
    assert r.code == 1 and r.err_lines == [
        f"error: {files / 'two.csv'}: more than 1 bad rows (--max-errors); the last, at line "
        "4: 'y' is not a valid int32 value; nothing was imported"]
    r = kodiak("sql", "--data-dir", data_dir, "--format", "csv", "-c", "select count(*) "
               "as c from n")
    assert csv_rows(r) == ['"c"', "0"]
    r = kodiak("import", files / "two.csv.gz", "n", "--data-dir", data_dir, "--max-errors", "1")
    assert r.code == 2


def test_a_semicolon_file_is_not_read_as_one_column(files, data_dir):
    r = kodiak("import", files / "semi.csv", "s", "--data-dir", data_dir)
    assert r.code == 0 and f"{files / 'semi.csv'}: fields separated by ';'" in r.stderr
    r = kodiak("sql", "--data-dir", data_dir, "--format", "csv", "-c", "select * from s")
    assert csv_rows(r) == ['"id","name","km"', '1,"a",2.5', '2,"b",3']


def test_export_to_a_missing_directory_names_it(data_dir, tmp_path):
    r = kodiak("export", "select 1 as x", tmp_path / "nodir" / "out.csv", "--data-dir",
               data_dir)
    assert r.code == 1 and len(r.err_lines) == 1
    assert f"'{tmp_path / 'nodir'}'" in r.stderr and "does not exist" in r.stderr
