// What a BI tool does through Apache Arrow's Flight SQL JDBC driver, against a Kodiak server.
//
// Run by tests/flight/jdbc/test_jdbc_driver.py (one JVM for every probe):
//   java --add-opens=java.base/java.nio=ALL-UNNAMED -cp 'LIB/*' Probe.java PORT
// Prints one line per probe, "PASS name" or "FAIL name: what went wrong"; the test reads them.

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

public class Probe {
  interface Check {
    void run() throws Exception;
  }

  static void probe(String name, Check check) {
    try {
      check.run();
      System.out.println("PASS " + name);
    } catch (Throwable e) {
      String msg = String.valueOf(e).replace('\n', ' ');
      System.out.println("FAIL " + name + ": " + msg);
    }
  }

  static void expect(boolean ok, String what) {
    if (!ok) throw new AssertionError(what);
  }

  static long count(Statement s, String table) throws Exception {
    try (ResultSet rs = s.executeQuery("select count(*) from " + table)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  public static void main(String[] args) throws Exception {
    String url = "jdbc:arrow-flight-sql://127.0.0.1:" + args[0] + "?useEncryption=false";
    try (Connection c = DriverManager.getConnection(url)) {
      Statement s = c.createStatement();
      DatabaseMetaData md = c.getMetaData();

      // 1. DDL and transaction statements run once, with an update count of 0
      probe("executeUpdate_create_table", () ->
          expect(s.executeUpdate("create table jp (id int, amount decimal(12,2), name varchar)") == 0,
                 "update count of CREATE TABLE"));
      probe("execute_create_view", () ->
          expect(!s.execute("create view jpv as select id, name from jp"), "CREATE VIEW returned rows"));
      probe("executeUpdate_insert_counts_rows", () ->
          expect(s.executeUpdate("insert into jp values (1, 12.50, 'a'), (2, 3.25, 'b')") == 2,
                 "INSERT update count"));
      probe("executeUpdate_begin_commit", () -> {
        expect(s.executeUpdate("begin") == 0, "BEGIN update count");
        s.executeUpdate("insert into jp values (3, 1.00, 'c')");
        expect(s.executeUpdate("commit") == 0, "COMMIT update count");
        expect(count(s, "jp") == 3, "rows after commit");
      });
      probe("prepareStatement_ddl_runs_once", () -> {
        try (PreparedStatement ps = c.prepareStatement("create table jp2 (x int)")) {
          expect(ps.executeUpdate() == 0, "prepared CREATE TABLE update count");
        }
        try (PreparedStatement ps = c.prepareStatement("drop table jp2")) {
          expect(ps.executeUpdate() == 0, "prepared DROP TABLE update count");
        }
      });
      probe("prepareStatement_insert_with_parameters", () -> {
        try (PreparedStatement ps = c.prepareStatement("insert into jp values (?, ?, ?)")) {
          ps.setInt(1, 4);
          ps.setBigDecimal(2, new java.math.BigDecimal("7.75"));
          ps.setString(3, "d");
          expect(ps.executeUpdate() == 1, "prepared INSERT update count");
        }
        expect(count(s, "jp") == 4, "rows after prepared insert");
      });

      // 3. result set metadata: precision and scale of a decimal
      probe("ResultSetMetaData_decimal_precision_scale", () -> {
        try (ResultSet rs = s.executeQuery("select id, amount, name from jp order by id")) {
          ResultSetMetaData m = rs.getMetaData();
          expect(m.getColumnCount() == 3, "column count");
          expect(m.getPrecision(2) == 12, "precision " + m.getPrecision(2));
          expect(m.getScale(2) == 2, "scale " + m.getScale(2));
          expect(m.getPrecision(1) == 10, "integer precision " + m.getPrecision(1));
          expect(rs.next() && rs.getBigDecimal(2).compareTo(new java.math.BigDecimal("12.50")) == 0,
                 "first amount");
        }
      });
      probe("PreparedStatement_getMetaData_before_execute", () -> {
        try (PreparedStatement ps = c.prepareStatement("select amount from jp")) {
          ResultSetMetaData m = ps.getMetaData();
          expect(m.getPrecision(1) == 12 && m.getScale(1) == 2,
                 "precision/scale " + m.getPrecision(1) + "," + m.getScale(1));
        }
      });

      // 2. DatabaseMetaData backed by GetSqlInfo (these threw NullPointerException)
      probe("getDefaultTransactionIsolation", () ->
          expect(md.getDefaultTransactionIsolation() == Connection.TRANSACTION_READ_COMMITTED,
                 "isolation " + md.getDefaultTransactionIsolation()));
      probe("supportsTransactionIsolationLevel", () -> {
        expect(md.supportsTransactionIsolationLevel(Connection.TRANSACTION_READ_COMMITTED), "read committed");
        expect(md.supportsTransactionIsolationLevel(Connection.TRANSACTION_SERIALIZABLE), "serializable");
        expect(!md.supportsTransactionIsolationLevel(Connection.TRANSACTION_READ_UNCOMMITTED), "read uncommitted");
      });
      probe("supportsOuterJoins", () -> expect(md.supportsOuterJoins(), "outer joins"));
      probe("supportsFullOuterJoins", () -> expect(md.supportsFullOuterJoins(), "full outer joins"));
      probe("supportsUnion", () -> expect(md.supportsUnion() && md.supportsUnionAll(), "union"));
      probe("supportsGroupBy", () -> expect(md.supportsGroupBy() && md.supportsGroupByUnrelated(), "group by"));
      probe("supportsSubqueriesInExists", () -> {
        expect(md.supportsSubqueriesInExists() && md.supportsSubqueriesInIns(), "exists/in");
        expect(md.supportsSubqueriesInQuantifieds(), "quantified subqueries (x > ANY (...)) work");
      });
      probe("getMaxColumnNameLength", () -> expect(md.getMaxColumnNameLength() == 0, "limit"));
      probe("getMaxTableNameLength", () -> expect(md.getMaxTableNameLength() == 0, "limit"));
      probe("getMaxStatementLength", () -> expect(md.getMaxStatementLength() == 0, "limit"));
      probe("getMaxConnections", () -> expect(md.getMaxConnections() == 0, "limit"));
      probe("DatabaseMetaData_every_getter", () -> {
        // every no-argument getter a schema browser may call must answer, not throw
        List<String> broken = new ArrayList<>();
        for (java.lang.reflect.Method m : DatabaseMetaData.class.getMethods()) {
          Class<?> r = m.getReturnType();
          if (m.getParameterCount() != 0 || !(r == boolean.class || r == int.class || r == String.class)) continue;
          try {
            m.invoke(md);
          } catch (java.lang.reflect.InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (!(cause instanceof java.sql.SQLFeatureNotSupportedException)) broken.add(m.getName() + "=" + cause);
          }
        }
        expect(broken.isEmpty(), String.join("; ", broken));
      });
      probe("supportsConvert", () -> {
        expect(md.supportsConvert(), "convert");
        expect(md.supportsConvert(java.sql.Types.INTEGER, java.sql.Types.VARCHAR), "int to varchar");
      });
      probe("getSQLKeywords_and_functions", () -> {
        expect(md.getSQLKeywords().contains("SELECT"), "keywords");
        expect(md.getNumericFunctions().contains("abs"), "numeric functions " + md.getNumericFunctions());
        expect(md.getStringFunctions().contains("upper"), "string functions");
        expect(md.getTimeDateFunctions().contains("date_trunc"), "datetime functions");
        expect(md.getSystemFunctions().contains("coalesce"), "system functions");
      });
      probe("getDatabaseProductName", () -> expect("Kodiak".equals(md.getDatabaseProductName()), "name"));

      // 6. the schema browser lists views, and their columns
      probe("getTables_lists_views", () -> {
        boolean table = false, view = false;
        try (ResultSet rs = md.getTables(null, null, "jp%", null)) {
          while (rs.next()) {
            table |= rs.getString("TABLE_NAME").equals("jp") && rs.getString("TABLE_TYPE").equals("TABLE");
            view |= rs.getString("TABLE_NAME").equals("jpv") && rs.getString("TABLE_TYPE").equals("VIEW");
          }
        }
        expect(table && view, "table " + table + ", view " + view);
      });
      probe("getColumns_of_a_view", () -> {
        List<String> cols = new ArrayList<>();
        try (ResultSet rs = md.getColumns(null, null, "jpv", null)) {
          while (rs.next()) cols.add(rs.getString("COLUMN_NAME"));
        }
        expect(cols.equals(List.of("id", "name")), "columns " + cols);
      });
      probe("getColumns_decimal_size", () -> {
        try (ResultSet rs = md.getColumns(null, null, "jp", "amount")) {
          expect(rs.next(), "no amount column");
          expect(rs.getInt("COLUMN_SIZE") == 12 && rs.getInt("DECIMAL_DIGITS") == 2,
                 "size " + rs.getInt("COLUMN_SIZE") + "," + rs.getInt("DECIMAL_DIGITS"));
        }
      });
      probe("getPrimaryKeys", () -> {
        s.executeUpdate("create table jpk (k int primary key, v int)");
        try (ResultSet rs = md.getPrimaryKeys(null, null, "jpk")) {
          expect(rs.next() && rs.getString("COLUMN_NAME").equals("k"), "primary key");
        }
      });
      probe("drop_view_and_table_run_once", () -> {
        expect(s.executeUpdate("drop view jpv") == 0, "DROP VIEW");
        expect(s.executeUpdate("drop table jp") == 0, "DROP TABLE");
        expect(s.executeUpdate("drop table jpk") == 0, "DROP TABLE jpk");
      });
    }
  }
}
