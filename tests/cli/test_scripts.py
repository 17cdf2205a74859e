"""``kodiak sql -c`` / ``-f FILE`` (scripts with the shell's dot commands) and ``--version``."""

from __future__ import annotations

from .conftest import kodiak, kodiak_proc


def test_command_and_version(data_dir):
    r = kodiak("sql", "--data-dir", data_dir, "-c", "select 1 + 1 as two", "--format", "csv")
    assert (r.code, r.stdout.splitlines()) == (0, ['"two"', "2"]), r.stderr
    p = kodiak_proc("--version")
    assert p.returncode == 0 and p.stdout.startswith("kodiak ") and p.stdout.split()[1][0].isdigit()


def test_file_with_dot_and_backslash_commands(data_dir, tmp_path):
    script = tmp_path / "load.sql"
    script.write_text("create table t (a int primary key, b varchar);\n"
                      "insert into t values (1, 'x'),\n  (2, 'y');\n"
                      ".mode csv\n.headers off\n"
                      "select a, b from t order by a;\n"
                      ".mode line\nselect b from t where a = 2;\n"
                      "\\dt\n")
    r = kodiak("sql", "--data-dir", data_dir, "-f", script)
    assert r.code == 0, r.stderr
    assert '1,"x"\n2,"y"\n' in r.stdout  # csv without the header line
    assert "b = y" in r.stdout  # line mode
    assert r.stdout.rstrip().endswith("schema = main\n  name = t")  # \dt, in line mode
    assert r.stderr == "2 rows affected\n"


def test_script_stops_at_its_first_error(data_dir, tmp_path):
    script = tmp_path / "bad.sql"
    script.write_text(".mode csv\nselect 1 as a;\nselect * from missing;\nselect 3 as c;\n")
    r = kodiak("sql", "--data-dir", data_dir, "--file", script)
    assert r.code == 1
    assert r.stdout.splitlines() == ['"a"', "1"]
    assert r.err_lines == ["error: table 'missing' does not exist"]


def test_plain_file_and_stdin_dash(data_dir, tmp_path):
    script = tmp_path / "plain.sql"
    script.write_text("select 'from a file' as s")
    r = kodiak("sql", "--data-dir", data_dir, "-f", script, "--format", "json")
    assert r.stdout.strip() == '[\n{"s":"from a file"}\n]'
    r = kodiak("sql", "--data-dir", data_dir, "-f", "-", "--format", "csv",
               input="select 5 as n;")
    assert r.stdout.splitlines() == ['"n"', "5"]


def test_source_errors(data_dir):
    r = kodiak("sql", "--data-dir", data_dir, "-f", "csv", "select 1")
    assert r.code == 2 and r.err_lines == [
        "error: give the SQL once: as an argument, with -c or with -f FILE"]
    r = kodiak("sql", "--data-dir", data_dir, "-f", "nope.sql")
    assert r.code == 2 and r.err_lines == ["error: cannot read nope.sql: No such file or directory"]
    r = kodiak("sql", "--data-dir", data_dir, "--format", "parquet", "-o", "x.parquet",
               "-c", ".mode csv\nselect 1;")
    assert r.code == 2 and "dot commands writes text" in r.stderr


TRIGGERS = """\
create table t (k int primary key, v int);
create table log (k int, note varchar);
create trigger big after insert on t when new.v > 10
begin
  insert into log values (new.k, 'big; ' || case when new.v > 100 then 'huge' else 'large' end);
  insert into log values (new.k * 10, 'again');
end;
insert into t values (1, 5), (2, 50);
.mode csv
select k, note from log order by k;
"""


def test_trigger_bodies_are_not_cut_at_their_semicolons(data_dir, tmp_path):
    """A CREATE TRIGGER's BEGIN ... END body, its CASE ... END and a ';' in a string stay
    one statement, in a file with dot commands and with -c alike."""
    script = tmp_path / "triggers.sql"
    script.write_text(TRIGGERS)
    r = kodiak("sql", "--data-dir", data_dir, "-f", script)
    assert r.code == 0, r.stderr
    assert r.stdout.splitlines() == ['"k","note"', '2,"big; large"', '20,"again"']
    r = kodiak("sql", "--data-dir", data_dir, "--format", "csv", "-c",
               "create table u (k int); create trigger tu after insert on u begin "
               "insert into log values (new.k, 'u'); end; insert into u values (7); "
               "select count(*) as n from log where note = 'u'")
    assert (r.code, r.stdout.splitlines()) == (0, ['"n"', "1"]), r.stderr


def test_pl_script_and_block_function_from_the_command_line(data_dir):
    """A PL-Grizzly script is sent whole (its LET is seen after the loop); a block-bodied
    function is created by one statement and called by the next."""
    r = kodiak("sql", "--data-dir", data_dir, "--format", "csv", "-c",
               "let i = 0; while $i < 4 do set i = $i + 1; if $i = 2 then continue; end if; "
               "end while; select $i as i")
    assert (r.code, r.stdout.splitlines()) == (0, ['"i"', "4"]), r.stderr
    r = kodiak("sql", "--data-dir", data_dir, "--format", "csv", "-c",
               "create function twice(x bigint) returns bigint as begin return $x * 2; end; "
               "call twice(21)")
    assert (r.code, r.stdout.splitlines()[-1]) == (0, "42"), r.stderr
    r = kodiak("sql", "--data-dir", data_dir, "--format", "csv", "-c",
               "begin; create table w (a int); insert into w values (1); commit; "
               "select count(*) as n from w")
    assert (r.code, r.stdout.splitlines()) == (0, ['"n"', "1"]), r.stderr
