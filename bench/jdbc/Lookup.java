import java.sql.*;
import java.util.*;

/**
 * The lookup of bench/jdbc_lookup.py through Arrow's Flight SQL JDBC driver: per key, a
 * Statement with the key written into the text, or a PreparedStatement binding it (made
 * and closed per lookup, as an application that prepares each call does). Prints one line
 * per round: "MODE p50_ms".
 * Arguments: URL, a file of keys (one per line), rounds per mode.
 */
public class Lookup {
    public static void main(String[] args) throws Exception {
        String url = args[0];
        List<Long> keys = new ArrayList<>();
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of(args[1]))) {
            keys.add(Long.parseLong(line.trim()));
        }
        int rounds = Integer.parseInt(args[2]);
        String sql = "select * from orders where o_orderkey = ";
        try (Connection c = DriverManager.getConnection(url)) {
            for (int r = 0; r < rounds; r++) {
                for (String mode : new String[]{"text", "prepared"}) {
                    long[] lat = new long[keys.size()];
                    for (int i = 0; i < keys.size(); i++) {
                        long t0 = System.nanoTime();
                        int rows = 0;
                        if (mode.equals("text")) {
                            try (Statement s = c.createStatement();
                                 ResultSet rs = s.executeQuery(sql + keys.get(i))) {
                                while (rs.next()) rows++;
                            }
                        } else {
                            try (PreparedStatement ps = c.prepareStatement(sql + "?")) {
                                ps.setLong(1, keys.get(i));
                                try (ResultSet rs = ps.executeQuery()) {
                                    while (rs.next()) rows++;
                                }
                            }
                        }
                        lat[i] = System.nanoTime() - t0;
                        if (rows != 1) throw new IllegalStateException("key " + keys.get(i) + ": " + rows + " rows");
                    }
                    Arrays.sort(lat);
                    System.out.printf("%s %.4f%n", mode, lat[lat.length / 2] / 1e6);
                }
            }
        }
    }
}
